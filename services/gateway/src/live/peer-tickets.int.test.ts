import { type Bus, connectBus, ensureStreams } from "@kasmap/bus";
import { createLogger } from "@kasmap/logging";
import { testNatsUrl } from "@kasmap/testing/harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningGateway, startGateway } from "../index.ts";
import { gatewayFixtureForFile, TOKENS } from "../testing/gateway-fixture.ts";

/**
 * Live-stream tickets behind two gateway replicas without session affinity: a ticket issued by
 * one replica opens a stream at the other, exactly once, and as the user it was issued to.
 */
const f = gatewayFixtureForFile();
let peerBus: Bus;
let peer: RunningGateway;

beforeAll(async () => {
  await ensureStreams(f.bus);
  peerBus = await connectBus({ url: testNatsUrl(), name: "gateway-peer", topology: f.bus.topology });
  peer = await startGateway({
    bus: peerBus,
    databaseUrl: f.database.url,
    logger: createLogger("gateway-peer", "silent"),
  });
});

afterAll(async () => {
  await peer?.stop();
  await peerBus?.close();
});

async function ticketFrom(gatewayUrl: string, token: string): Promise<string> {
  const response = await fetch(`${gatewayUrl}/api/v4/-/kasmap/live/tickets`, {
    method: "POST",
    headers: { "private-token": token },
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { ticket: string }).ticket;
}

/** Opens the stream with `ticket` at `gatewayUrl`: its status, and the stream closed again. */
async function openWith(gatewayUrl: string, ticket: string): Promise<number> {
  const abort = new AbortController();
  const response = await fetch(`${gatewayUrl}/api/v4/events/stream?ticket=${encodeURIComponent(ticket)}`, {
    signal: abort.signal,
  });
  abort.abort();
  return response.status;
}

describe("live-stream tickets across gateway replicas", () => {
  it("opens a stream at another replica than the one that issued the ticket, once", async () => {
    const ticket = await ticketFrom(f.gateway.url, TOKENS.developer);
    expect(await openWith(peer.url, ticket)).toBe(200);
    expect(await openWith(peer.url, ticket)).toBe(401);
    expect(await openWith(f.gateway.url, ticket)).toBe(401);
  });

  it("lets exactly one of several concurrent openings at both replicas win", async () => {
    const ticket = await ticketFrom(peer.url, TOKENS.reporter);
    const statuses = await Promise.all([
      openWith(f.gateway.url, ticket),
      openWith(f.gateway.url, ticket),
      openWith(peer.url, ticket),
      openWith(peer.url, ticket),
    ]);
    expect(statuses.sort()).toEqual([200, 401, 401, 401]);
  });

  it("answers 401 to a ticket no replica holds, and gives a blocked user no ticket", async () => {
    expect(await openWith(peer.url, "kmlive-not-a-ticket")).toBe(401);
    // The blocked user gets no ticket at all (403), at either replica.
    const refused = await fetch(`${peer.url}/api/v4/-/kasmap/live/tickets`, {
      method: "POST",
      headers: { "private-token": TOKENS.blocked },
    });
    expect(refused.status).toBe(403);
  });
});
