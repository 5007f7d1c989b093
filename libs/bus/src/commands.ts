import {
  AUTHZ_COMMANDS,
  type AuthzCommandName,
  type AuthzCommandParsedRequest,
  type AuthzCommandRequest,
  type AuthzCommandResult,
  type CommandReply,
  CommandReplySchema,
  isKasmapError,
  KasmapError,
  type StreamPosition,
} from "@kasmap/contracts";
import { type Msg, PermissionViolationError, RequestError, type Subscription } from "@nats-io/nats-core";
import { type Bus, isNkeyUserPublicKey } from "./bus.ts";
import {
  type CommandLaneLimits,
  type CommandLaneRefusal,
  type CommandLaneStatus,
  createCommandLane,
} from "./command-lane.ts";
import { maxPayloadBytes, refuseOverLimit } from "./payload-limit.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export type CommandOutcome<N extends AuthzCommandName> = {
  result: AuthzCommandResult<N>;
  /** Where the command's events were stored; readers wait for the projection to pass them. */
  positions: StreamPosition[];
};

/**
 * Sends a command to the authz service (`<root>.cmd.authz.<name>`, core NATS request/reply)
 * and returns its validated result. A refusal comes back as the `KasmapError` authz raised
 * (same code, same message); no responder or a timeout is `unavailable`; a request over the
 * server's `max_payload` is `payload_too_large` (it could never be sent).
 */
export async function requestCommand<N extends AuthzCommandName>(
  bus: Bus,
  name: N,
  request: AuthzCommandRequest<N>,
  timeoutMs = 10_000,
): Promise<CommandOutcome<N>> {
  return requestCommandOn(bus, bus.topology.subjects.authzCommand(name), name, request, timeoutMs);
}

/** Buses whose authz or NATS permissions predate sender subjects (see `requestAgentAuthentication`). */
const senderSubjectRefused = new WeakSet<Bus>();

/**
 * `agent_token.authenticate` from a collector. A bus connected with an nkey names its public key
 * as the sender (`<root>.cmd.authz.agent_token.authenticate.<public key>`, the one sender subject
 * its NATS permission allows), so authz serves it in its own share of the collectors' lane: a
 * collector flooding authz, with any token, delays another collector's authentication by at most
 * one request of its own. Without an nkey (a server without auth, `npm start`), the subject
 * names no sender. Against an authz that does not know sender subjects (it answers `unknown
 * command`) or NATS permissions that do not allow it (rendered before), the collector uses the
 * subject without a sender from then on.
 */
export async function requestAgentAuthentication(
  bus: Bus,
  request: AuthzCommandRequest<"agent_token.authenticate">,
  timeoutMs = 10_000,
): Promise<CommandOutcome<"agent_token.authenticate">> {
  const name = "agent_token.authenticate";
  const sender = bus.nkeyPublicKey;
  if (sender && !senderSubjectRefused.has(bus)) {
    try {
      const subject = bus.topology.subjects.authzCommandFromSender(name, sender);
      return await requestCommandOn(bus, subject, name, request, timeoutMs);
    } catch (error) {
      if (!refusesSenderSubjects(error)) throw error;
      senderSubjectRefused.add(bus);
    }
  }
  return requestCommand(bus, name, request, timeoutMs);
}

/**
 * An authz before sender subjects, or NATS permissions rendered before them: nats.js rejects the
 * request with a `RequestError` caused by the server's publish `PermissionViolationError`.
 */
function refusesSenderSubjects(error: unknown): boolean {
  if (isKasmapError(error, "bad_request") && error.message.startsWith("unknown command")) return true;
  if (!isKasmapError(error, "unavailable")) return false;
  const failure = error.cause instanceof RequestError ? error.cause.cause : error.cause;
  return failure instanceof PermissionViolationError && failure.operation === "publish";
}

async function requestCommandOn<N extends AuthzCommandName>(
  bus: Bus,
  subject: string,
  name: N,
  request: AuthzCommandRequest<N>,
  timeoutMs: number,
): Promise<CommandOutcome<N>> {
  const body = encoder.encode(JSON.stringify(request));
  refuseOverLimit(`command ${name}`, body.length, maxPayloadBytes(bus.nc));
  let reply: Msg;
  try {
    reply = await bus.nc.request(subject, body, { timeout: timeoutMs });
  } catch (error) {
    throw new KasmapError("unavailable", `authz service did not answer ${name}`, { cause: error });
  }
  const parsed = CommandReplySchema.parse(JSON.parse(decoder.decode(reply.data)));
  if (!parsed.ok) {
    throw new KasmapError(
      parsed.error.code,
      parsed.error.message,
      parsed.error.fields ? { fields: parsed.error.fields } : undefined,
    );
  }
  const result = AUTHZ_COMMANDS[name].result.parse(parsed.result) as AuthzCommandResult<N>;
  return { result, positions: parsed.positions };
}

/** How many validation problems of a command an error reply lists, so it stays small. */
const REPORTED_ISSUES = 100;

export type CommandHandlers = {
  [N in AuthzCommandName]: (
    request: AuthzCommandParsedRequest<N>,
  ) => Promise<{ result: AuthzCommandResult<N>; positions: StreamPosition[] }>;
};

/**
 * The commands a collector's NATS identity may publish (infra/nats/render-authorization.ts,
 * `agentPermissions`): any collector, or anyone holding a collector's credentials, can send them
 * without a valid token, so they are served in a lane of their own and can never delay the
 * gateway's and the sync's commands (lane `users`). Each may name its sender in its subject
 * (`authzCommandFromSender`, a NATS user public key): the lane serves senders in turn.
 */
export const COLLECTOR_COMMANDS: readonly AuthzCommandName[] = ["agent_token.authenticate"];

export type CommandLaneName = "users" | "collectors";

/**
 * Requests of one named sender (one collector's NATS user, all replicas of its agent) waiting in
 * the collectors' lane: a collector sends one authentication at a time per replica, so a sender
 * with more waiting is flooding, and only its own requests are turned away.
 */
export const COLLECTOR_WAITING_PER_SENDER = 4;

/** The bounds of each lane; see {@link DEFAULT_COMMAND_SERVING_LIMITS}. */
export type CommandServingLimits = Record<CommandLaneName, CommandLaneLimits>;

/**
 * The defaults (authz's `KASMAP_AUTHZ_*` env overrides the counts):
 * - `users` (every command but {@link COLLECTOR_COMMANDS}): 16 in flight (twice the pool of 8
 *   connections, so the pool never idles while the next ones parse), 1,000 waiting, 64 MiB of
 *   waiting bodies;
 * - `collectors`: 2 in flight (at most 2 of the 8 connections go to collectors), 100 waiting,
 *   1 MiB of waiting bodies (a valid `agent_token.authenticate` is ~1 KiB), and at most
 *   {@link COLLECTOR_WAITING_PER_SENDER} waiting per named sender.
 */
export const DEFAULT_COMMAND_SERVING_LIMITS: CommandServingLimits = {
  users: { maxInFlight: 16, maxWaiting: 1_000, maxWaitingBytes: 64 * 1024 * 1024 },
  collectors: {
    maxInFlight: 2,
    maxWaiting: 100,
    maxWaitingBytes: 1024 * 1024,
    maxWaitingPerSender: COLLECTOR_WAITING_PER_SENDER,
  },
};

/**
 * Why a request was answered `unavailable` at once: refused (`CommandLaneRefusal`), pushed out of
 * a full lane by a sender with fewer waiting (`pushed_out`: its sender held the most), or serving
 * stopped.
 */
export type ShedReason = CommandLaneRefusal | "pushed_out" | "stopping";

export type CommandServingOptions = {
  limits?: CommandServingLimits;
  /**
   * Sees each request answered `unavailable` because its lane or its sender's share of the lane
   * was full, it was pushed out of its full lane or serving stopped, with the command's name, which it was and the sender the
   * subject named (`""` for none).
   */
  onShed?: (lane: CommandLaneName, name: string, reason: ShedReason, sender: string) => void;
};

/** A request received, with the command and the sender its subject names (`""` for none). */
type Request = { name: string; message: Msg; sender: string };

/** The command subscription, with its lanes' state (for metrics and tests). */
export type CommandServer = Subscription & { lanes(): Record<CommandLaneName, CommandLaneStatus> };

/**
 * Serves every authz command on `<root>.cmd.authz.>` in queue group `kasmap-authz`, so several
 * replicas share the load. Requests are validated with the command's zod schema (the first
 * {@link REPORTED_ISSUES} problems are reported); a handler's `KasmapError` becomes an error
 * reply with the same code; anything else is `internal` (logged by `onError`, never leaked to
 * the caller). Nothing a command does can end the process: a reply over the server's
 * `max_payload` is replaced by an `internal` error reply (logged), and a failure to respond at
 * all is logged. `onAnswered` sees each reply before it is sent (for metrics), with the command's
 * name, or `unknown` for a subject that names none.
 *
 * Every request goes to a lane ({@link COLLECTOR_COMMANDS} to `collectors`, the rest to `users`),
 * each with its own bound on handlers in flight and on requests waiting (count and bytes,
 * `options.limits`). A request past its lane's queue is answered at once
 * `{"ok":false,"error":{"code":"unavailable","message":"authz is busy: …"}}` (the gateway answers
 * 503 with `Retry-After`), never dropped unanswered; so are the requests still waiting when the
 * subscription closes. One subscription serves both lanes: two overlapping subscriptions in one
 * queue group would share each message between them at random, not give each lane its own.
 */
export function serveCommands(
  bus: Bus,
  handlers: CommandHandlers,
  onError: (name: string, error: unknown) => void = () => {},
  onAnswered: (name: string, reply: CommandReply) => void = () => {},
  options: CommandServingOptions = {},
): CommandServer {
  const prefix = bus.topology.subjects.authzCommand("");
  const limits = options.limits ?? DEFAULT_COMMAND_SERVING_LIMITS;
  const lanes = {
    // Only collector commands name a sender (`commandOfSubject`): the users' lane has one, `""`,
    // and a sender is pushed out only for another, so it needs no `pushOut`.
    users: createCommandLane<Request>(limits.users, serveOne),
    collectors: createCommandLane<Request>(limits.collectors, serveOne, ({ name, message, sender }) =>
      shed("collectors", name, message, "pushed_out", sender),
    ),
  };
  const subscription = bus.nc.subscribe(bus.topology.wildcards.authzCommands, {
    queue: "kasmap-authz",
    callback: (error, message) => {
      if (error) return onError("subscription", error);
      const { name, sender } = commandOfSubject(message.subject.slice(prefix.length));
      // Answered at once: a subject that names no command never takes a lane's place.
      if (!Object.hasOwn(AUTHZ_COMMANDS, name)) return respondUnknown(name, message);
      const lane = laneOf(name);
      const refusal = lanes[lane].offer({ name, message, sender }, message.data.length, sender);
      if (refusal) shed(lane, name, message, refusal, sender);
    },
  });
  // Nothing waits for ever: the requests queued when serving stops are answered at once.
  void subscription.closed.then(() => {
    for (const lane of Object.keys(lanes) as CommandLaneName[]) {
      for (const { name, message, sender } of lanes[lane].takeWaiting()) {
        shed(lane, name, message, "stopping", sender);
      }
    }
  });
  return Object.assign(subscription, {
    lanes: () => ({ users: lanes.users.status(), collectors: lanes.collectors.status() }),
  });

  function shedMessage(lane: CommandLaneName, reason: ShedReason): string {
    const { maxWaiting, maxWaitingBytes, maxWaitingPerSender } = limits[lane];
    switch (reason) {
      case "sender_full":
        return `the ${lane} lane already holds ${maxWaitingPerSender} requests of this sender`;
      case "lane_full":
        // Full by count or by bytes: the message names both bounds, as either may be the one.
        return `the ${lane} lane is full (${maxWaiting} requests or ${maxWaitingBytes} bytes waiting)`;
      case "pushed_out":
        return `the ${lane} lane is full and this sender held the most requests in it`;
      case "stopping":
        return "stopping";
    }
  }

  function respondUnknown(name: string, message: Msg): void {
    const error = { code: "bad_request", message: `unknown command ${name}` } as const;
    send("unknown", name, message, { ok: false, error });
  }

  function laneOf(name: string): CommandLaneName {
    return (COLLECTOR_COMMANDS as readonly string[]).includes(name) ? "collectors" : "users";
  }

  /** A request in a lane names a known command: an unknown one is answered before any lane. */
  function shed(lane: CommandLaneName, name: string, message: Msg, reason: ShedReason, sender: string): void {
    options.onShed?.(lane, name, reason, sender);
    const busy = `authz is busy: ${shedMessage(lane, reason)}; try again later`;
    send(name, name, message, { ok: false, error: { code: "unavailable", message: busy } });
  }

  async function serveOne({ name, message, sender }: Request): Promise<void> {
    if (subscription.isClosed()) return shed(laneOf(name), name, message, "stopping", sender);
    try {
      send(name, name, message, await answer(name, message));
    } catch (failure) {
      onError(name, failure);
    }
  }

  /** Counts `reply` under `label` (`onAnswered`) and sends it; a failure to send is logged. */
  function send(label: string, name: string, message: Msg, reply: CommandReply): void {
    onAnswered(label, reply);
    try {
      respond(name, message, reply);
    } catch (failure) {
      onError(name, failure);
    }
  }

  function respond(name: string, message: Msg, reply: CommandReply): void {
    let body = encoder.encode(JSON.stringify(reply));
    const limit = maxPayloadBytes(bus.nc);
    if (body.length > limit) {
      // A bug: every result is bounded by its contract. The command may have been applied.
      onError(name, new Error(`reply of ${body.length} bytes exceeds max_payload (${limit} bytes)`));
      const tooLarge: CommandReply = { ok: false, error: { code: "internal", message: "reply too large" } };
      body = encoder.encode(JSON.stringify(tooLarge));
    }
    message.respond(body);
  }

  async function answer(name: string, message: Msg): Promise<CommandReply> {
    const commandName = name as AuthzCommandName;
    try {
      let body: unknown;
      try {
        body = JSON.parse(decoder.decode(message.data));
      } catch {
        throw new KasmapError("bad_request", "command body is not JSON");
      }
      const request = AUTHZ_COMMANDS[commandName].request.safeParse(body);
      if (!request.success) {
        const fields: Record<string, string[]> = {};
        for (const issue of request.error.issues.slice(0, REPORTED_ISSUES)) {
          const key = issue.path.join(".") || "body";
          fields[key] = [...(fields[key] ?? []), issue.message];
        }
        throw new KasmapError("validation_failed", "invalid command", { fields });
      }
      const handler = handlers[commandName] as (
        r: unknown,
      ) => Promise<{ result: unknown; positions: StreamPosition[] }>;
      const outcome = await handler(request.data);
      return { ok: true, result: outcome.result, positions: outcome.positions };
    } catch (error) {
      if (isKasmapError(error)) {
        return {
          ok: false,
          error: {
            code: error.code,
            message: error.message,
            ...(error.fields ? { fields: error.fields } : {}),
          },
        };
      }
      onError(name, error);
      return { ok: false, error: { code: "internal", message: "internal error" } };
    }
  }
}

/**
 * The command a subject (after `<root>.cmd.authz.`) names, and its sender: `<command>.<public
 * key>` for {@link COLLECTOR_COMMANDS} sent from a named sender, `""` when the subject names none.
 * A suffix that is not a NATS user public key names no command (answered `unknown command`).
 */
export function commandOfSubject(rest: string): { name: string; sender: string } {
  for (const command of COLLECTOR_COMMANDS) {
    if (rest.startsWith(`${command}.`)) {
      const sender = rest.slice(command.length + 1);
      if (isNkeyUserPublicKey(sender)) return { name: command, sender };
    }
  }
  return { name: rest, sender: "" };
}
