import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { DEAD_LETTER_HEADERS, publishEvent } from "@kasmap/bus";
import type { KubeSimulator } from "@kasmap/kube-simulator";
import { readDeadLetters, testEvents } from "@kasmap/testing";
import { type GitLabSimulator, startGitLabSimulator } from "@kasmap/testing/gitlab-simulator";
import { eventually } from "@kasmap/testing/harness";
import { type KasmapSystem, startKasmapSystem } from "@kasmap/testing/system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnCollectorProgram, startDemoKubeCluster, stopCollectorsThenClose } from "./collector-program.ts";

/**
 * Issue 9: the re-authentication lease. A running collector presents its token again within the
 * lease (GitLab's TTL for a GitLab agent token, KASMAP_AGENT_TOKEN_LEASE_SECONDS for Kasmap's own
 * tokens), so a token revoked in GitLab, or in Kasmap while another token keeps the agent's
 * events accepted, stops the collector at its next renewal; and a collector that does not renew
 * (not Kasmap's program) is cut off by authz, whose lapse sweep or refusal revokes the record.
 */
const MAINTAINER = 40;
/** A short lease, so the test sees renewals and lapses in seconds. */
const LEASE_SECONDS = 4;
const kasSecret = randomBytes(32);

let gitlab: GitLabSimulator;
let kube: KubeSimulator;
let kubeconfig: string;
let system: KasmapSystem;
const collectors: ChildProcess[] = [];
const ids = { project: 0, agent: 0 };
let maintainerToken: string;

beforeAll(async () => {
  ({ simulator: kube, kubeconfig } = await startDemoKubeCluster());
  gitlab = await startGitLabSimulator({ kasSecret });
  const admin = gitlab.addUser({ username: "root", is_admin: true });
  const operators = gitlab.addGroup({ path: "operators", name: "Operators" });
  ids.project = gitlab.addProject({ path: "agent-project", namespace_id: operators.id }).id;
  ids.agent = gitlab.addAgent(ids.project, "prod").id;
  const maintainer = gitlab.addUser({ username: "olivia-operator" });
  gitlab.addMember({ project_id: ids.project }, maintainer.id, MAINTAINER);
  maintainerToken = gitlab.addToken(maintainer.id);

  system = await startKasmapSystem({
    gitlab: { url: gitlab.url, token: gitlab.addToken(admin.id), reconcileSeconds: 3600 },
    authz: {
      gitlabAgentTokens: { gitlabUrl: gitlab.url, kasSecret, ttlSeconds: LEASE_SECONDS, timeoutMs: 5_000 },
      agentTokenLeaseSeconds: LEASE_SECONDS,
    },
  });
  await eventually(
    async () => (await clusterInfoStatus()) === 200 || undefined,
    "the agent mirrored from GitLab",
    60_000,
  );
}, 120_000);

afterAll(() => stopCollectorsThenClose(collectors, system, gitlab, kube));

async function clusterInfoStatus(): Promise<number> {
  const response = await system.call(
    "GET",
    `/api/v4/projects/${ids.project}/cluster_agents/${ids.agent}/cluster_info`,
    maintainerToken,
  );
  await response.body?.cancel();
  return response.status;
}

/** A collector program (heartbeat every second) that has reported at least once. */
async function reportingCollector(token: string, podName: string) {
  const program = spawnCollectorProgram({
    token,
    kubeconfig,
    topologyRoot: system.topology.root,
    pod: { ip: "10.244.1.23", namespace: "gitlab-agent", name: podName },
    logLevel: "info",
    args: ["--heartbeat-seconds", "1"],
  });
  collectors.push(program.child);
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
    const { id, token } = gitlab.issueAgentToken(ids.agent);
    const program = await reportingCollector(token, "collector-gitlab-token");
    await eventually(async () => ((await clusterInfoStatus()) === 200 ? true : undefined), "cluster_info");

    gitlab.revokeAgentToken(ids.agent, id);
    const code = await program.exited;
    expect(code).not.toBe(0);
    expect(program.output()).toContain("agent token refused at lease renewal");
    expect(program.output()).toContain("kasmap-collector stopped: its agent token was refused");
    expect(program.output()).not.toContain(token);

    // A collector that keeps publishing on the agent's NATS subjects (not Kasmap's program, holding
    // the agent's NATS credentials) gets nothing applied: the record is revoked, the agent has no
    // other token, so the projection dead-letters what is stored after it.
    const events = testEvents(system.topology);
    const forged = events.heartbeat(ids.agent, new Date().toISOString(), "collector-after-revocation");
    await publishEvent(system.bus, forged);
    const letter = await eventually(
      async () =>
        (await readDeadLetters(system.bus)).find((l) =>
          l.header.get(DEAD_LETTER_HEADERS.reason)?.includes(`every token of agent ${ids.agent} was revoked`),
        ),
      "the heartbeat after the revocation dead-lettered",
    );
    expect(letter.header.get(DEAD_LETTER_HEADERS.reason)).toMatch(/revoked/);
  }, 180_000);

  it("Kasmap collector token revoked in Kasmap while another of the agent's tokens stays active: the collector stops within its lease", async () => {
    const agentPath = `/projects/${ids.project}/cluster_agents/${ids.agent}/collector_tokens`;
    const mint = async (name: string) => {
      const minted = await system.api("POST", agentPath, { name }, maintainerToken);
      expect(minted.status).toBe(201);
      return { id: Number(minted.body?.id), token: String(minted.body?.token) };
    };
    const used = await mint("revoked-soon");
    await mint("stays-active");
    const program = await reportingCollector(used.token, "collector-kasmap-token");

    const revoked = await system.call("DELETE", `/api/v4${agentPath}/${used.id}`, maintainerToken);
    expect(revoked.status).toBe(204);
    const code = await program.exited;
    expect(code).not.toBe(0);
    expect(program.output()).toContain("agent token refused at lease renewal");
    expect(program.output()).not.toContain(used.token);
  }, 180_000);
});
