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

  it("are its event subjects (a replica's heartbeat subject too) and the token check, from its permissions", () => {
    expect(publishTargets(topology, permissions, 42)).toEqual([
      {
        subject: "kasmap.cluster.42.snapshot",
        stream: "cluster",
        boundType: "io.kasmap.cluster.snapshot.v1",
      },
      {
        subject: "kasmap.cluster.42.heartbeat",
        stream: "heartbeat",
        boundType: "io.kasmap.cluster.heartbeat.v1",
      },
      {
        subject: `kasmap.cluster.42.heartbeat.${collectorSubjectToken(FORGED_COLLECTOR_ID)}`,
        stream: "heartbeat",
        boundType: "io.kasmap.cluster.heartbeat.v1",
      },
      // A replica's heartbeat subject is one token more, any token: those that are not a
      // collector's token are bound to no type (the projection dead-letters what lands there).
      { subject: "kasmap.cluster.42.heartbeat.extra", stream: "heartbeat", boundType: null },
      { subject: "kasmap.cluster.42.heartbeat.42", stream: "heartbeat", boundType: null },
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
