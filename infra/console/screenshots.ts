import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { startKasmapSystem } from "@kasmap/testing/system";
import { stopCollectorsThenClose } from "../../test/e2e/collector-program.ts";
import {
  chooseTheme,
  consolePage,
  launchConsoleBrowser,
  type Page,
  signIn,
} from "../../test/e2e/console-browser.ts";
import { seedConsoleDemo } from "../../test/e2e/console-demo.ts";

/**
 * `npm run screenshots`: regenerates docs/screenshots/*.png, the console's main pages as the
 * README shows them. Runs the system as the end-to-end tests do (NATS and PostgreSQL of
 * `NATS_URL` / `DATABASE_URL`, default 127.0.0.1), the demo cluster with a real collector, and
 * Debian's chromium (`/usr/bin/chromium`).
 */
const OUT = fileURLToPath(new URL("../../docs/screenshots/", import.meta.url));

type Shot = {
  file: string;
  path: string;
  theme: "light" | "dark";
  width: number;
  ready: (page: Page) => Promise<void>;
};

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const system = await startKasmapSystem();
  const demo = await seedConsoleDemo(system).catch(async (error: unknown) => {
    await system.stop();
    throw error;
  });
  const browser = await launchConsoleBrowser();
  try {
    const agent = `/-/console#/agents/${demo.projectId}/${demo.agentId}`;
    const firstSnapshot = (page: Page) => page.getByText("First snapshot of the cluster").waitFor();
    const shots: Shot[] = [
      {
        file: "search-light.png",
        path: "/-/console#/?q=192.168.49.2",
        theme: "light",
        width: 1280,
        ready: (p) => p.getByRole("link", { name: "demo-agent" }).waitFor(),
      },
      {
        file: "search-dark.png",
        path: "/-/console#/?q=192.168.49.2",
        theme: "dark",
        width: 1280,
        ready: (p) => p.getByRole("link", { name: "demo-agent" }).waitFor(),
      },
      {
        file: "inventory-light.png",
        path: "/-/console#/inventory",
        theme: "light",
        width: 1280,
        ready: (p) => p.getByRole("link", { name: "demo-agent" }).waitFor(),
      },
      { file: "agent-light.png", path: agent, theme: "light", width: 1280, ready: firstSnapshot },
      { file: "agent-dark.png", path: agent, theme: "dark", width: 1280, ready: firstSnapshot },
      { file: "agent-phone-dark.png", path: agent, theme: "dark", width: 375, ready: firstSnapshot },
      {
        file: "verify-light.png",
        path: `/-/console#/verify/${demo.projectId}/${demo.agentId}`,
        theme: "light",
        width: 1280,
        ready: (p) => p.getByLabel("Pod ranges").waitFor(),
      },
    ];
    const { page } = await consolePage(browser.context);
    await signIn(page, system.gatewayUrl, demo.developerToken);
    for (const shot of shots) {
      await page.setViewportSize({ width: shot.width, height: 900 });
      await page.goto(`${system.gatewayUrl}${shot.path}`);
      await shot.ready(page);
      await chooseTheme(page, shot.theme);
      if (shot.path === agent) await page.getByText("Live: updates appear as they happen").waitFor();
      // The phone shot is its first screen, as a phone shows it; the others are whole pages.
      await page.screenshot({ path: `${OUT}${shot.file}`, fullPage: shot.width >= 800 });
      process.stdout.write(`wrote docs/screenshots/${shot.file}\n`);
    }
  } finally {
    await browser.close();
    await stopCollectorsThenClose([demo.collector], demo.simulator, system);
  }
}

await main();
