import type { KubeSimulator } from "@kasmap/kube-simulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { changeNodeInternalIp, stopCollectorsThenClose } from "./collector-program.ts";
import {
  accessibilityViolations,
  chooseTheme,
  consolePage,
  launchConsoleBrowser,
  type Page,
  type PageGlobals,
  signIn,
} from "./console-browser.ts";
import { type ConsoleDemo, seedConsoleDemo } from "./console-demo.ts";
import { kasmapSystemForFile } from "./system-for-file.ts";

/**
 * Issue 13: the console at `/-/console` in a real Chromium — sign in, search an address of the
 * demo cluster, the agent page with provenance, a live change from the Kubernetes simulator, the
 * verify form, what a user without access sees, and axe-core on every main page in both themes.
 */
const system = kasmapSystemForFile();
let demo: ConsoleDemo | undefined;
let browser: Awaited<ReturnType<typeof launchConsoleBrowser>>;
let developerToken: string;
let outsiderToken: string;
let ids: { projectId: number; agentId: number };
let simulator: KubeSimulator;

const NODE_IP = "192.168.49.2";

beforeAll(async () => {
  demo = await seedConsoleDemo(system);
  ({ developerToken, outsiderToken, simulator } = demo);
  ids = { projectId: demo.projectId, agentId: demo.agentId };
  browser = await launchConsoleBrowser();
});

afterAll(async () => {
  await browser?.close();
  await stopCollectorsThenClose(demo ? [demo.collector] : [], demo?.simulator);
});

const agentPath = () => `/-/console#/agents/${ids.projectId}/${ids.agentId}`;

async function signedInPage(token: string): Promise<{ page: Page; problems: string[] }> {
  const opened = await consolePage(browser.context);
  await signIn(opened.page, system.gatewayUrl, token);
  return opened;
}

describe("the Kasmap console", () => {
  it("signs in, finds the demo cluster's agent by a node IP, and shows where a value came from", async () => {
    const { page, problems } = await signedInPage(developerToken);
    await page.getByText("Signed in as").waitFor();
    await page.getByLabel("IP address or CIDR range").fill(NODE_IP);
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("link", { name: "demo-agent" }).waitFor();
    expect(await page.getByText(`${NODE_IP} — node IP (internal)`).count()).toBe(1);

    await page.getByRole("link", { name: "demo-agent" }).click();
    await page.getByRole("heading", { name: /demo-agent/ }).waitFor();
    const podRanges = page.getByRole("row", { name: /Pod ranges/ });
    await podRanges.waitFor();
    const row = await podRanges.innerText();
    expect(row).toContain("10.244.0.0/16");
    expect(row).toMatch(/observed|inferred/);
    expect(row).toMatch(/Read from|Inferred from/);
    // The diagram names the agent and the cluster's ranges for screen readers too.
    expect(await page.locator("svg title").textContent()).toContain("pods 10.244.0.0/16");
    await page.getByRole("heading", { name: "Timeline" }).waitFor();
    await page.getByText("First snapshot of the cluster").waitFor();
    expect(problems).toEqual([]);
    await page.close();
  });

  it("shows a node change from the simulator live, without reloading the page", async () => {
    const { page, problems } = await signedInPage(developerToken);
    await page.goto(`${system.gatewayUrl}${agentPath()}`);
    await page.getByText("Live: updates appear as they happen").waitFor();
    await page.evaluate(() => {
      (globalThis as unknown as { loadedOnce: boolean }).loadedOnce = true;
    });
    changeNodeInternalIp(simulator, "k8s-worker-2", "192.168.49.44");
    await page
      .getByRole("row", { name: /Internal node IPs/ })
      .getByText(/192\.168\.49\.44/)
      .waitFor({ timeout: 90_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(
      true,
    );
    await page.getByText("a new cluster snapshot arrived").first().waitFor();
    expect(problems).toEqual([]);
    await page.close();
  });

  it("says when the live stream is lost and comes back by itself", async () => {
    const { page } = await signedInPage(developerToken);
    await page.route("**/api/v4/events/stream**", (route) => route.abort());
    await page.goto(`${system.gatewayUrl}${agentPath()}`);
    await page.getByText("Disconnected, retrying…").waitFor();
    await page.unroute("**/api/v4/events/stream**");
    await page.getByText("Live: updates appear as they happen").waitFor({ timeout: 30_000 });
    await page.close();
  });

  it("verifies expected ranges per value and writes the matching kasmap-verify command", async () => {
    const { page, problems } = await signedInPage(developerToken);
    await page.goto(`${system.gatewayUrl}/-/console#/verify/${ids.projectId}/${ids.agentId}`);
    await page.getByLabel("Pod ranges").fill("10.244.0.0/16");
    await page.getByLabel("Node IP ranges (internal and external)").fill("10.0.0.0/8");
    await page.getByRole("button", { name: "Verify", exact: true }).click();
    await page.getByText("Some checks failed.").waitFor();
    const results = page.getByRole("region", { name: "Verification results" });
    expect(await results.getByRole("row", { name: /pod_cidrs/ }).innerText()).toMatch(/pass/);
    expect(
      await results
        .getByRole("row", { name: /node_ips/ })
        .first()
        .innerText(),
    ).toMatch(/fail/);
    expect(await page.getByLabel("kasmap-verify command").innerText()).toBe(
      "kasmap-verify --agent platform/clusters:demo-agent --expect-node-ips 10.0.0.0/8 --expect-pod-cidrs 10.244.0.0/16",
    );
    expect(problems).toEqual([]);
    await page.close();
  });

  it("shows a user without access nothing of the agent", async () => {
    const { page } = await signedInPage(outsiderToken);
    await page.getByLabel("IP address or CIDR range").fill(NODE_IP);
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByText(`No cluster you may see holds ${NODE_IP}.`).waitFor();
    await page.goto(`${system.gatewayUrl}${agentPath()}`);
    await page.getByRole("alert").getByText("it does not exist, or you do not have access to it").waitFor();
    const text = await page.locator("body").innerText();
    expect(text).not.toContain("demo-agent");
    expect(text).not.toContain("192.168.49");
    expect(text).not.toContain("10.244");
    await page.close();
  });

  it("lists every agent of every group the user may see in the inventory, and nothing of other groups", async () => {
    const { page, problems } = await signedInPage(developerToken);
    await page.goto(`${system.gatewayUrl}/-/console#/inventory`);
    await page.getByRole("link", { name: "demo-agent" }).waitFor();
    await page.getByRole("link", { name: "edge-agent" }).waitFor();
    expect(await page.getByText("2 of 2 agents").count()).toBe(1);
    expect(await page.locator("body").innerText()).not.toContain("vault");
    // Filter and a named group still narrow the list.
    await page.getByLabel("Filter").fill("edge");
    await page.getByText("1 of 2 agents").waitFor();
    await page.getByLabel("Filter").fill("");
    await page.goto(`${system.gatewayUrl}/-/console#/inventory?group=platform`);
    await page.getByText("1 of 1 agents").waitFor();
    expect(problems).toEqual([]);
    await page.close();

    const outsider = await signedInPage(outsiderToken);
    await outsider.page.goto(`${system.gatewayUrl}/-/console#/inventory`);
    await outsider.page.getByText("No agent is yours to see").waitFor();
    const text = await outsider.page.locator("body").innerText();
    for (const name of ["demo-agent", "edge-agent", "vault-agent", "platform", "vault"])
      expect(text).not.toContain(name);
    await outsider.page.close();
  });

  it("has an accessibility check that does find violations (an unlabelled field added to the page)", async () => {
    const { page } = await signedInPage(developerToken);
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.evaluate(() => {
      const { document } = globalThis as unknown as PageGlobals;
      document.querySelector("main")?.append(document.createElement("input"));
    });
    expect((await accessibilityViolations(page)).join("\n")).toMatch(/^label: /m);
    await page.close();
  });

  // Sixteen page loads with an axe run each: minutes on a loaded machine, hence the long timeout.
  it.each(["light", "dark"] as const)(
    "passes axe-core on every main page, signed in, in the %s theme, at 1280 and 375 px without sideways scrolling",
    async (theme) => {
      const { page, problems } = await signedInPage(developerToken);
      const pages: Array<[string, string, () => Promise<void>]> = [
        [
          "search",
          `/-/console#/?q=${NODE_IP}`,
          () => page.getByRole("link", { name: "demo-agent" }).waitFor(),
        ],
        [
          "inventory",
          "/-/console#/inventory",
          () => page.getByRole("link", { name: "demo-agent" }).waitFor(),
        ],
        ["agent", agentPath(), () => page.getByText("First snapshot of the cluster").waitFor()],
        [
          "verify",
          `/-/console#/verify/${ids.projectId}/${ids.agentId}`,
          () => page.getByLabel("Pod ranges").waitFor(),
        ],
      ];
      const found: string[] = [];
      for (const width of [1280, 375]) {
        await page.setViewportSize({ width, height: 900 });
        for (const [name, path, ready] of pages) {
          await page.goto(`${system.gatewayUrl}${path}`);
          await ready();
          await chooseTheme(page, theme);
          found.push(...(await accessibilityViolations(page)).map((v) => `${name} (${width} px): ${v}`));
          const overflow = await page.evaluate(() => {
            const browser = globalThis as unknown as PageGlobals;
            return browser.document.documentElement.scrollWidth - browser.innerWidth;
          });
          if (overflow > 0) found.push(`${name} (${width} px): ${overflow} px wider than the screen`);
        }
      }
      expect(found).toEqual([]);
      expect(problems).toEqual([]);
      await page.close();
    },
    300_000,
  );

  it("is served in GitLab mode's path space as Kasmap's own, with its CSP", async () => {
    const response = await fetch(`${system.gatewayUrl}/-/console`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-security-policy")).toContain("default-src 'self'");
  });
});
