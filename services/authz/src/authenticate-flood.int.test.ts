import { randomBytes } from "node:crypto";
import { CommandReplySchema } from "@kasmap/contracts";
import { eventually } from "@kasmap/testing/harness";
import { connect } from "@nats-io/transport-node";
import { beforeAll, describe, expect, it } from "vitest";
import { authzTestEnvironmentForFile } from "./testing/authz-test-environment.ts";

/**
 * Security review (authz command serving): any collector identity may publish
 * `agent_token.authenticate` with any token. A flood of them, each a different bogus token, is
 * held to its lane (2 in flight, 20 waiting here), the rest answered `unavailable` at once, and a
 * user's command sent meanwhile is served; a repeated bogus token is refused from the cache of
 * refusals, without a database lookup.
 */
const WAITING = 20;
const env = authzTestEnvironmentForFile({
  commandLimits: {
    users: { maxInFlight: 16, maxWaiting: 1_000, maxWaitingBytes: 64 * 1024 * 1024 },
    collectors: { maxInFlight: 2, maxWaiting: WAITING, maxWaitingBytes: 1024 * 1024 },
  },
});
const FLOOD = 3_000;
const decoder = new TextDecoder();
let ids: { actor_user_id: number; project_id: number; agent_id: number };

beforeAll(async () => {
  const { actor_user_id, project_id, agent_id } = await env.registerAgent();
  ids = { actor_user_id, project_id, agent_id };
});

const bogusToken = () => `kmcol-${randomBytes(24).toString("hex")}`;

describe("a flood of agent_token.authenticate", () => {
  it("stays within its lane, answers the excess unavailable, and a user's command is served meanwhile", async () => {
    // The flood comes from a connection of its own, as a collector's would.
    const attacker = await connect({ servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222" });
    try {
      const codes = new Map<string, number>();
      const inbox = `_INBOX.flood.${randomBytes(6).toString("hex")}`;
      attacker.subscribe(inbox, {
        callback: (_error, message) => {
          const reply = CommandReplySchema.parse(JSON.parse(decoder.decode(message.data)));
          const code = reply.ok ? "ok" : reply.error.code;
          codes.set(code, (codes.get(code) ?? 0) + 1);
        },
      });
      const subject = env.bus.topology.subjects.authzCommand("agent_token.authenticate");
      for (let i = 0; i < FLOOD; i++) {
        attacker.publish(subject, JSON.stringify({ token: bogusToken() }), { reply: inbox });
      }
      await attacker.flush();

      let mostWaiting = 0;
      let mostInFlight = 0;
      const watch = setInterval(() => {
        const lane = env.service.commandLanes().collectors;
        mostWaiting = Math.max(mostWaiting, lane.waiting);
        mostInFlight = Math.max(mostInFlight, lane.inFlight);
      }, 5);
      try {
        // "Completes" is the only bound asserted: requestCommand gives up after its 10 s timeout.
        const job = await env.command("job.create", {
          actor_user_id: ids.actor_user_id,
          project_id: ids.project_id,
        });
        expect(job.result.job.project_id).toBe(ids.project_id);
        const answered = () => [...codes.values()].reduce((a, b) => a + b, 0);
        await eventually(() => (answered() === FLOOD ? true : undefined), "every request answered", 60_000);
      } finally {
        clearInterval(watch);
      }
      const lanes = env.service.commandLanes();
      expect(codes.get("ok")).toBeUndefined();
      expect(codes.get("unavailable") ?? 0).toBeGreaterThan(0);
      expect(codes.get("unavailable")).toBe(lanes.collectors.rejected);
      expect((codes.get("unavailable") ?? 0) + (codes.get("unauthorized") ?? 0)).toBe(FLOOD);
      expect(mostWaiting).toBeLessThanOrEqual(WAITING);
      expect(mostInFlight).toBeLessThanOrEqual(2);
      expect(lanes.users.rejected).toBe(0);
      expect(lanes.collectors).toMatchObject({ inFlight: 0, waiting: 0, waitingBytes: 0 });
    } finally {
      await attacker.close();
    }
  });
});

describe("refusals of agent_token.authenticate are cached", () => {
  it("refuses a repeated bogus token from the cache, by digest, without a database lookup", async () => {
    const token = bogusToken();
    const before = env.service.refusedTokens();
    expect((await env.refusal("agent_token.authenticate", { token })).code).toBe("unauthorized");
    expect(env.service.refusedTokens().hits).toBe(before.hits);
    expect((await env.refusal("agent_token.authenticate", { token })).code).toBe("unauthorized");
    expect((await env.refusal("agent_token.authenticate", { token })).code).toBe("unauthorized");
    expect(env.service.refusedTokens().hits).toBe(before.hits + 2);
  });

  it("a token minted after a refusal of another works at once", async () => {
    const { actor_user_id, project_id, agent_id } = ids;
    expect((await env.refusal("agent_token.authenticate", { token: bogusToken() })).code).toBe(
      "unauthorized",
    );
    const minted = await env.command("collector_token.create", {
      actor_user_id,
      project_id,
      agent_id,
      name: "c",
    });
    const { result } = await env.command("agent_token.authenticate", { token: minted.result.plaintext });
    expect(result).toMatchObject({ agent_id, token_kind: "collector" });
  });
});
