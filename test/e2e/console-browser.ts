import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import axe from "axe-core";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

/** Debian's chromium, installed by `.ci/run` (`ensure_chromium`). */
export const CHROMIUM = "/usr/bin/chromium";

/**
 * Chromium without anything that reaches the network on its own (sync, component updates,
 * QUIC probes): the console must work on a closed network, and a test must not wait on one.
 */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A browser on a fresh profile directory (a persistent context, so the directory is ours). */
export async function launchConsoleBrowser(
  options: { theme?: "light" | "dark"; width?: number } = {},
): Promise<{
  context: BrowserContext;
  close: () => Promise<void>;
}> {
  const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "kasmap-chromium-")), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: options.width ?? 1280, height: 900 },
    colorScheme: options.theme ?? "light",
  });
  return { context, close: () => context.close() };
}

export type { Browser, Page };

/**
 * The browser globals that functions run inside the page use. The repository compiles without
 * TypeScript's DOM library (its code runs in Node), so page functions reach them through
 * `globalThis as unknown as PageGlobals`: a cast that vanishes when the function is sent over.
 */
export type PageGlobals = {
  document: {
    documentElement: { dataset: Record<string, string | undefined>; scrollWidth: number };
    querySelector(selector: string): { append(child: unknown): void } | null;
    createElement(tag: string): unknown;
  };
  innerWidth: number;
};

/**
 * A page of the console whose console errors (failed scripts, CSP refusals) are kept in
 * `problems`: a test ends by asserting there were none.
 */
export async function consolePage(context: BrowserContext): Promise<{ page: Page; problems: string[] }> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (message) => {
    // The console answers 401/404 on purpose in some tests; the browser logs those as errors.
    if (message.type() === "error" && !/status of (401|403|404)/.test(message.text()))
      problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(error.message));
  return { page, problems };
}

/** Signs in on the console's page with `token` and waits for the signed-in header. */
export async function signIn(page: Page, gatewayUrl: string, token: string): Promise<void> {
  await page.goto(`${gatewayUrl}/-/console`);
  await page.getByLabel("Access token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

/**
 * axe-core's violations on the page as it is now (WCAG 2 A/AA and best practices), as
 * `rule: target` lines. axe is evaluated through the DevTools protocol, which the page's CSP
 * does not govern, so the CSP under test stays as served.
 */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  await page.evaluate(axe.source);
  const violations = await page.evaluate(async () => {
    const runner = (globalThis as unknown as { axe: typeof axe }).axe;
    const page = globalThis as unknown as PageGlobals;
    const result = await runner.run(page.document as unknown as Parameters<typeof runner.run>[0], {
      resultTypes: ["violations"],
    });
    return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(" | ")}`);
  });
  return violations;
}

/** Switches the console's theme with its toggle until the page shows `theme`. */
export async function chooseTheme(page: Page, theme: "light" | "dark"): Promise<void> {
  const current = await page.evaluate(
    () => (globalThis as unknown as PageGlobals).document.documentElement.dataset.theme,
  );
  if (current !== theme) await page.getByRole("button", { name: /theme/ }).click();
  await page.waitForFunction(
    (wanted) => (globalThis as unknown as PageGlobals).document.documentElement.dataset.theme === wanted,
    theme,
  );
}
