import { ensureStreams, publishEvent } from "@kasmap/bus";
import { clusterFactsContentHash } from "@kasmap/cluster-info";
import { EVENT_TYPES, newKasmapEvent } from "@kasmap/contracts";
import { buildClusterFacts, openSse } from "@kasmap/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { gatewayFixtureForFile, insertAgent, TOKENS } from "../testing/gateway-fixture.ts";

/**
 * Issue 13: a browser's EventSource cannot send `PRIVATE-TOKEN`, so it opens the live stream with
 * a single-use ticket from `POST /api/v4/-/kasmap/live/tickets`, bound to the caller.
 */
const f = gatewayFixtureForFile();
const AGENT = 990;
const TICKETS = "/api/v4/-/kasmap/live/tickets";

beforeAll(async () => {
  await ensureStreams(f.bus);
  await insertAgent(f.db, AGENT, "ticketed");
});

async function ticketFor(token: string): Promise<{ ticket: string; expires_at: string }> {
  const response = await f.call(TICKETS, { method: "POST", token });
  expect(response.status).toBe(201);
  expect(response.headers.get("cache-control")).toBe("no-store");
  return (await response.json()) as { ticket: string; expires_at: string };
}

const streamUrl = (ticket: string) =>
  `${f.gateway.url}/api/v4/events/stream?agent_id=${AGENT}&ticket=${encodeURIComponent(ticket)}`;

describe("live-stream tickets", () => {
  it("opens the stream once as the ticket's holder, who then receives the events they may see", async () => {
    const { ticket, expires_at } = await ticketFor(TOKENS.developer);
    expect(ticket).toMatch(/^kmlive-/);
    const seconds = (Date.parse(expires_at) - Date.now()) / 1000;
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(60);
    const stream = await openSse(streamUrl(ticket), "");
    try {
      const facts = buildClusterFacts();
      await publishEvent(
        f.bus,
        newKasmapEvent({
          type: EVENT_TYPES.clusterSnapshot,
          source: "/kasmap/test",
          subject: f.bus.topology.subjects.clusterSnapshot(AGENT),
          data: { agent_id: AGENT, content_hash: clusterFactsContentHash(facts), cluster: facts },
        }),
      );
      const frame = await stream.next((received) => received.event === EVENT_TYPES.clusterSnapshot);
      expect((frame.data as { data: { agent_id: number } }).data.agent_id).toBe(AGENT);
    } finally {
      stream.close();
    }
    const again = await fetch(streamUrl(ticket));
    expect(again.status).toBe(401);
    expect(await again.json()).toEqual({ message: "401 Unauthorized" });
  });

  it("answers 401 to an unknown ticket, to a ticket request without a credential, and ignores the header of another user", async () => {
    expect((await fetch(streamUrl("kmlive-not-issued"))).status).toBe(401);
    expect((await f.call(TICKETS, { method: "POST" })).status).toBe(401);
    expect((await f.call(TICKETS, { method: "POST", token: "glpat-wrong" })).status).toBe(401);
    // The outsider's header does not turn the developer's ticket into the outsider's stream: the
    // ticket decides who reads, and its holder's access decides what.
    const { ticket } = await ticketFor(TOKENS.developer);
    const response = await fetch(streamUrl(ticket), { headers: { "private-token": TOKENS.outsider } });
    expect(response.status).toBe(200);
    await response.body?.cancel();
  });

  it("refuses a blocked user's ticket request as any of their requests", async () => {
    expect((await f.call(TICKETS, { method: "POST", token: TOKENS.blocked })).status).toBe(403);
  });
});
