import type { CommandLaneName, CommandLaneStatus, ShedReason } from "@kasmap/bus";
import type { CommandReply } from "@kasmap/contracts";
import { Counter, Gauge, outboxGaugeNames, outboxStatusGauges, type Registry } from "@kasmap/runtime/metrics";
import type { OutboxStatus } from "./outbox.ts";

/** The outbox gauges' names: the gateway reports the same readings when authz is elsewhere. */
export const AUTHZ_OUTBOX_METRICS = outboxGaugeNames("kasmap_authz_outbox");

/**
 * Registers authz's metrics on `registry` and returns the recorders of command replies and of
 * requests shed as busy:
 *
 * - `kasmap_authz_outbox_pending_rows`, `kasmap_authz_outbox_set_aside_rows`,
 *   `kasmap_authz_outbox_oldest_pending_age_seconds` (0 when nothing is pending), read from
 *   `authz.outbox` at scrape time (`outboxStatus`);
 * - `kasmap_authz_commands_total{command,outcome}`: `outcome` is `ok` or the error code of the
 *   refusal (`forbidden`, `validation_failed`, …): a fixed set, as the command names are;
 * - `kasmap_authz_command_lane_in_flight{lane}`, `kasmap_authz_command_lane_waiting{lane}`,
 *   `kasmap_authz_command_lane_waiting_senders{lane}`: each command lane's handlers running,
 *   requests queued and senders with requests queued now (`users`, `collectors`), read from
 *   `lanes` at scrape time;
 * - `kasmap_authz_commands_shed_total{lane,command,reason}`: requests answered `unavailable` at
 *   once because their lane's queue was full (`lane_full`), their sender's share of it
 *   (`sender_full`: a collector sending more than its turn), they were pushed out of a full lane
 *   by a sender with fewer waiting (`pushed_out`: their sender held the most places), or serving
 *   was stopping.
 */
export function registerAuthzMetrics(
  registry: Registry,
  outboxStatus: () => Promise<OutboxStatus>,
  lanes: () => Record<CommandLaneName, CommandLaneStatus>,
): {
  commandAnswered: (command: string, reply: CommandReply) => void;
  commandShed: (lane: CommandLaneName, command: string, reason: ShedReason) => void;
} {
  outboxStatusGauges(registry, outboxStatus, {
    prefix: "kasmap_authz_outbox",
    rows: "Authz events",
    owner: "authz",
    oldestPendingAge: true,
  });
  const commands = new Counter({
    name: "kasmap_authz_commands_total",
    help: "Authz commands answered, by command and outcome (ok, or the error code of the refusal).",
    labelNames: ["command", "outcome"],
    registers: [registry],
  });
  const laneGauge = (name: string, help: string, pick: (status: CommandLaneStatus) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ["lane"],
      registers: [registry],
      collect() {
        for (const [lane, status] of Object.entries(lanes())) this.set({ lane }, pick(status));
      },
    });
  laneGauge(
    "kasmap_authz_command_lane_in_flight",
    "Authz command handlers running, by lane.",
    (s) => s.inFlight,
  );
  laneGauge(
    "kasmap_authz_command_lane_waiting",
    "Authz commands queued for a handler, by lane.",
    (s) => s.waiting,
  );
  laneGauge(
    "kasmap_authz_command_lane_waiting_senders",
    "Senders with authz commands queued, by lane (collectors name themselves; the rest count as one).",
    (s) => s.waitingSenders,
  );
  const shed = new Counter({
    name: "kasmap_authz_commands_shed_total",
    help: "Authz commands answered unavailable at once, by lane, command and reason (lane_full, sender_full: the sender's share of the lane, pushed_out: out of a full lane for a sender with fewer waiting, stopping).",
    labelNames: ["lane", "command", "reason"],
    registers: [registry],
  });
  return {
    commandAnswered: (command, reply) =>
      commands.inc({ command, outcome: reply.ok ? "ok" : reply.error.code }),
    commandShed: (lane, command, reason) => shed.inc({ lane, command, reason }),
  };
}
