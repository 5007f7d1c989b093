import type { Bus } from "@kasmap/bus";
import { digestToken } from "@kasmap/contracts";
import type { Logger } from "@kasmap/logging";
import { z } from "zod";
import type { LiveTickets, RedeemedTicket } from "./live-tickets.ts";

/**
 * Live-stream tickets across gateway replicas, on core NATS request/reply
 * (`<root>.gateway.live_tickets.redeem`, which only gateways may publish and subscribe to):
 * a replica asked to open a stream with a ticket it does not hold sends the ticket's SHA-256
 * digest to the others; the replica holding it redeems it in its own `LiveTickets` (which makes
 * it single-use and keeps its limits) and answers the ticket's user and credential headers to
 * the asking replica's inbox. A replica that does not hold it stays silent, so an unknown, used
 * or expired ticket answers after `PEER_TICKET_TIMEOUT_MS` (then 401).
 *
 * Why not a NATS KV bucket or a PostgreSQL table: a stored ticket would have to keep the
 * credential (or only its digest, with which GitLab mode cannot ask GitLab who the caller is) at
 * rest; the gateway may create no stream (its NATS user is denied stream administration) and
 * writes no table. Here the credential never leaves memory except in one reply between gateways,
 * as agent tokens travel to authz in its commands.
 */
export const PEER_TICKET_TIMEOUT_MS = 1_000;

const RequestSchema = z.object({ digest: z.string().regex(/^[0-9a-f]{64}$/) });
const ReplySchema = z.object({
  user_id: z.number().int().positive(),
  credential: z.record(z.string(), z.string()),
});

/** A message's JSON body checked by `schema`, or null when it is not JSON or not that shape. */
function bodyOf<T>(schema: z.ZodType<T>, message: { json(): unknown }): T | null {
  let body: unknown;
  try {
    body = message.json();
  } catch {
    return null;
  }
  const parsed = schema.safeParse(body);
  return parsed.success ? parsed.data : null;
}

/** Answers the peers' redemption requests for the tickets this replica holds. */
export function answerPeerRedemptions(
  bus: Bus,
  tickets: LiveTickets,
  logger: Logger,
): ReturnType<Bus["nc"]["subscribe"]> {
  return bus.nc.subscribe(bus.topology.subjects.liveTicketRedeem, {
    callback: (error, message) => {
      if (error) {
        logger.warn({ err: error }, "live-ticket redemption subscription error");
        return;
      }
      const request = bodyOf(RequestSchema, message);
      if (!request) return;
      const redeemed = tickets.redeemDigest(request.digest);
      // Not ours (or used, or expired): the replica holding it answers, if any.
      if (!redeemed) return;
      message.respond(JSON.stringify({ user_id: redeemed.userId, credential: redeemed.credential }));
    },
  });
}

/** The ticket, redeemed by whichever peer replica holds it; null when none answers in time. */
export async function redeemAtPeers(
  bus: Bus,
  ticket: string,
  timeoutMs: number = PEER_TICKET_TIMEOUT_MS,
): Promise<RedeemedTicket | null> {
  try {
    const reply = await bus.nc.request(
      bus.topology.subjects.liveTicketRedeem,
      JSON.stringify({ digest: digestToken(ticket) }),
      { timeout: timeoutMs },
    );
    const body = bodyOf(ReplySchema, reply);
    return body ? { userId: body.user_id, credential: body.credential } : null;
  } catch {
    // Timed out, no responders, or NATS away: no replica holds the ticket for us.
    return null;
  }
}
