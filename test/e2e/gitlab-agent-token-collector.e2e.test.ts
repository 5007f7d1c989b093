import { randomBytes } from "node:crypto";
import { eventually } from "@kasmap/testing/harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KasGitLabWorld, startKasGitLabWorld } from "./kas-gitlab-world.ts";

/**
 * Issue 9 item 5's optional part: with GitLab's KAS secret, a collector presents its agent's own
 * GitLab agent token (no collector token minted); authz asks GitLab's internal `agent_info` API,
 * and the collector's snapshot reaches the read model of the mirrored agent. A token GitLab does
 * not know stops the collector at start.
 */
let world: KasGitLabWorld;

beforeAll(async () => {
  world = await startKasGitLabWorld();
}, 120_000);

afterAll(() => world?.close());

describe("a collector with its agent's GitLab agent token (KAS secret)", () => {
  it("is accepted: its snapshot reaches the read model of the mirrored agent", async () => {
    const { token } = world.gitlab.issueAgentToken(world.ids.agent);
    const program = world.startCollectorProgram(token);
    const clusterInfo = await eventually(
      async () => {
        const response = await world.system.call(
          "GET",
          `/api/v4/projects/${world.ids.project}/cluster_agents/${world.ids.agent}/cluster_info`,
          world.maintainerToken,
        );
        const body =
          response.status === 200 ? ((await response.json()) as { node_count?: number } | null) : null;
        return body ?? undefined;
      },
      "cluster_info from the collector holding GitLab's agent token",
      // A loaded machine takes long to start the collector program (transpiled at start).
      90_000,
    );
    expect(clusterInfo).toMatchObject({ node_count: 3 });
    expect(program.output()).toContain("collector authenticated as agent");
    expect(program.output()).not.toContain(token);
  }, 120_000);

  it("is refused with a token GitLab does not know: the collector stops without publishing", async () => {
    const token = `glagent-${randomBytes(24).toString("base64url")}`;
    const program = world.startCollectorProgram(token);
    const code = await new Promise<number | null>((resolve) => program.child.once("exit", resolve));
    expect(code).not.toBe(0);
    expect(program.output()).toMatch(/401 Unauthorized/);
    expect(program.output()).not.toContain("collector authenticated as agent");
    expect(program.output()).not.toContain(token);
  }, 120_000);
});
