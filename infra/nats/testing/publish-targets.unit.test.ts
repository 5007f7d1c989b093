import { collectorSubjectToken, createTopology } from "@kasmap/contracts";
import { nkeys } from "@nats-io/nats-core";
import { describe, expect, it } from "vitest";
import { agentPermissions } from "../render-authorization.ts";
import {
  FORGED_COLLECTOR_ID,
  publishTargets,
  refusedStreamSubjects,
  subjectMatches,
} from "./publish-targets.ts";

describe("subjectMatches (NATS wildcards)", () => {
  it.each([
    ["a.*.c", "a.b.c", true],
    ["a.*.c", "a.b.c.d", false],
    ["a.*", "a", false],
    ["a.>", "a.b.c", true],
    ["a.>", "a", false],
    ["a.b", "a.b", true],
    ["a.b", "a.bb", false],
  ])("%s against %s: %s", (pattern, subject, expected) => {
    expect(subjectMatches(pattern, subject)).toBe(expected);
  });
});

describe("publish targets of an agent's collector", () => {
  const topology = createTopology("kasmap");
  const nkey = nkeys.createUser().getPublicKey();
  const permissions = agentPermissions(topology, 42, nkey);

  it("are its event subjects (its replicas' 16 heartbeat subjects too) and the token check, from its permissions", () => {
    const heartbeat = "io.kasmap.cluster.heartbeat.v1";
    const forged = collectorSubjectToken(FORGED_COLLECTOR_ID);
    expect(publishTargets(topology, permissions, 42)).toEqual([
      {
        subject: "kasmap.cluster.42.snapshot",
        stream: "cluster",
        boundType: "io.kasmap.cluster.snapshot.v1",
      },
      { subject: "kasmap.cluster.42.heartbeat", stream: "heartbeat", boundType: heartbeat },
      { subject: `kasmap.cluster.42.heartbeat.${forged}`, stream: "heartbeat", boundType: heartbeat },
      // Every replica token (one hex digit) is bound to heartbeats; no other token is permitted.
      ...[..."0123456789abcdef"]
        .filter((digit) => digit !== forged)
        .map((digit) => ({
          subject: `kasmap.cluster.42.heartbeat.${digit}`,
          stream: "heartbeat",
          boundType: heartbeat,
        })),
      { subject: `kasmap.cmd.authz.agent_token.authenticate.${nkey}`, stream: null, boundType: null },
    ]);
  });

  it("leave another agent's and non-canonical subjects to be refused", () => {
    const refused = refusedStreamSubjects(topology, permissions, [42, 43]);
    expect(refused).toEqual(
      expect.arrayContaining([
        "kasmap.cluster.43.snapshot",
        "kasmap.cluster.042.snapshot",
        "kasmap.registry.user.42.changed",
        "kasmap.dlq.KASMAP_CLUSTER",
      ]),
    );
    expect(refused).not.toContain("kasmap.cluster.42.snapshot");
  });
});
