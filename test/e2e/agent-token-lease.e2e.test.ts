import { DEAD_LETTER_HEADERS, publishEvent } from "@kasmap/bus";
import { readDeadLetters, testEvents } from "@kasmap/testing";
import { eventually } from "@kasmap/testing/harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KasGitLabWorld, startKasGitLabWorld } from "./kas-gitlab-world.ts";

/**
 * Issue 9: the re-authentication lease. A running collector presents its token again within the
 * lease (GitLab's TTL for a GitLab agent token, KASMAP_AGENT_TOKEN_LEASE_SECONDS for Kasmap's own
 * tokens), so a token revoked in GitLab, or in Kasmap while another token keeps the agent's
 * events accepted, stops the collector at its next renewal; and a collector that does not renew
 * (not Kasmap's program) is cut off by authz, whose lapse sweep or refusal revokes the record.
 */
/** A short lease, so the test sees renewals and lapses in seconds. */
const LEASE_SECONDS = 4;
let world: KasGitLabWorld;

beforeAll(async () => {
  world = await startKasGitLabWorld({ ttlSeconds: LEASE_SECONDS, leaseSeconds: LEASE_SECONDS });
}, 120_000);

afterAll(() => world?.close());

/** A collector program (heartbeat every second) that has reported at least once. */
async function reportingCollector(token: string, podName: string) {
  const program = world.startCollectorProgram(token, {
    pod: { ip: "10.244.1.23", namespace: "gitlab-agent", name: podName },
    args: ["--heartbeat-seconds", "1"],
  });
  const exited = new Promise<number | null>((resolve) => program.child.once("exit", resolve));
  // A loaded machine takes long to start the program (its sources are transpiled at start).
  await eventually(
    async () => (program.output().includes("collector authenticated as agent") ? true : undefined),
    `${podName} authenticated`,
    90_000,
  );
  return { ...program, exited };
}

describe("a running collector whose token is revoked", () => {
  it("GitLab agent token revoked in GitLab: refused at the next renewal, the collector stops, the agent's later events are refused", async () => {
    const { id, token } = world.gitlab.issueAgentToken(world.ids.agent);
    const program = await reportingCollector(token, "collector-gitlab-token");
    await eventually(
      async () => ((await world.clusterInfoStatus()) === 200 ? true : undefined),
      "cluster_info",
    );

    world.gitlab.revokeAgentToken(world.ids.agent, id);
    const code = await program.exited;
    expect(code).not.toBe(0);
    expect(program.output()).toContain("agent token refused at lease renewal");
    expect(program.output()).toContain("kasmap-collector stopped: its agent token was refused");
    expect(program.output()).not.toContain(token);

    // A collector that keeps publishing on the agent's NATS subjects (not Kasmap's program, holding
    // the agent's NATS credentials) gets nothing applied: the record is revoked, the agent has no
    // other token, so the projection dead-letters what is stored after it.
    const events = testEvents(world.system.topology);
    const forged = events.heartbeat(world.ids.agent, new Date().toISOString(), "collector-after-revocation");
    await publishEvent(world.system.bus, forged);
    const letter = await eventually(
      async () =>
        (await readDeadLetters(world.system.bus)).find((l) =>
          l.header
            .get(DEAD_LETTER_HEADERS.reason)
            ?.includes(`every token of agent ${world.ids.agent} was revoked`),
        ),
      "the heartbeat after the revocation dead-lettered",
    );
    expect(letter.header.get(DEAD_LETTER_HEADERS.reason)).toMatch(/revoked/);
  }, 180_000);

  it("Kasmap collector token revoked in Kasmap while another of the agent's tokens stays active: the collector stops within its lease", async () => {
    const agentPath = `/projects/${world.ids.project}/cluster_agents/${world.ids.agent}/collector_tokens`;
    const mint = async (name: string) => {
      const minted = await world.system.api("POST", agentPath, { name }, world.maintainerToken);
      expect(minted.status).toBe(201);
      return { id: Number(minted.body?.id), token: String(minted.body?.token) };
    };
    const used = await mint("revoked-soon");
    await mint("stays-active");
    const program = await reportingCollector(used.token, "collector-kasmap-token");

    const revoked = await world.system.call(
      "DELETE",
      `/api/v4${agentPath}/${used.id}`,
      world.maintainerToken,
    );
    expect(revoked.status).toBe(204);
    const code = await program.exited;
    expect(code).not.toBe(0);
    expect(program.output()).toContain("agent token refused at lease renewal");
    expect(program.output()).not.toContain(used.token);
  }, 180_000);
});
