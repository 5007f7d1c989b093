import type { CommandReply } from "@kasmap/contracts";
import { Counter, outboxGaugeNames, outboxStatusGauges, type Registry } from "@kasmap/runtime/metrics";
import type { OutboxStatus } from "./outbox.ts";

/** The outbox gauges' names: the gateway reports the same readings when authz is elsewhere. */
export const AUTHZ_OUTBOX_METRICS = outboxGaugeNames("kasmap_authz_outbox");

/**
 * Registers authz's metrics on `registry` and returns the recorder of command replies:
 *
 * - `kasmap_authz_outbox_pending_rows`, `kasmap_authz_outbox_set_aside_rows`,
 *   `kasmap_authz_outbox_oldest_pending_age_seconds` (0 when nothing is pending), read from
 *   `authz.outbox` at scrape time (`outboxStatus`);
 * - `kasmap_authz_commands_total{command,outcome}`: `outcome` is `ok` or the error code of the
 *   refusal (`forbidden`, `validation_failed`, …): a fixed set, as the command names are.
 */
export function registerAuthzMetrics(
  registry: Registry,
  outboxStatus: () => Promise<OutboxStatus>,
): (command: string, reply: CommandReply) => void {
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
  return (command, reply) => commands.inc({ command, outcome: reply.ok ? "ok" : reply.error.code });
}
