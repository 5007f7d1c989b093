import { DEAD_LETTER_HEADERS, DEAD_LETTER_SUMMARY_IDLE_MS } from "@kasmap/bus";
import { type DeadLetterRecord, DeadLetterRecordSchema, deadLetterStandsFor } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import { readDeadLetters } from "@kasmap/testing";
import type { KasmapSystem } from "@kasmap/testing/system";
import type { Kysely } from "kysely";
import type { AttackerMessage } from "./collector-fuzz-arbitraries.ts";

/** One attacker message as the server took it. */
export type Published = {
  message: AttackerMessage;
  stream: "cluster" | "heartbeat";
  /** Stream sequence, or null when the server did not store it (refused, or a duplicate msgID). */
  seq: number | null;
  note?: string;
};

export function streamOf(subject: string): "cluster" | "heartbeat" {
  return subject.endsWith(".snapshot") ? "cluster" : "heartbeat";
}

/**
 * The dead letters read for a batch: how many name each `<stream>:<seq>` by its own `seq` (or a
 * `more_seqs`), the summaries whose `seq_ranges` name the attacker's messages in them, and bad ones.
 */
type DeadLetterCover = { covered: Map<string, number>; summaries: DeadLetterRecord[]; failures: string[] };

/**
 * How long a batch's accounting waits for the summary dead letters of the attacker's messages
 * beyond its dead-letter budget: the projection stores them once it has read nothing for
 * `DEAD_LETTER_SUMMARY_IDLE_MS` (or their window ends), not with the batch.
 */
const SUMMARIES_WITHIN_MS = DEAD_LETTER_SUMMARY_IDLE_MS + 9_000;

/** How each message of a batch was accounted for. */
export type BatchCounts = { deadLettered: number; applied: number; replaced: number; notStored: number };

/**
 * Property 3 of the collector fuzz — nothing silently dropped — as bookkeeping over the real
 * streams and read model: every stored message of the attacker (`attacker`'s agent id) is named
 * by a dead letter with a reason or was applied, never both, and no dead letter names a message
 * of the bystander agent. Reads the dead-letter stream from where the previous batch left off.
 */
export class MessageAccounting {
  /** Dead letters by the kind of their reason, for the summary: which checks the fuzz reached. */
  readonly reasonKinds = new Map<string, number>();
  /** The next dead letter to read, by sequence of the dead-letter stream. */
  private nextDeadLetterSeq = 1;

  constructor(
    private readonly system: KasmapSystem,
    private readonly db: Kysely<ReadModelDatabase>,
    private readonly agents: { attacker: number; bystander: number },
  ) {}

  /**
   * The failures of one batch's accounting, and its counts. While messages are neither applied
   * nor named by a dead letter, reads the dead letters again, until `SUMMARIES_WITHIN_MS`.
   */
  async batch(published: readonly Published[]): Promise<{ counts: BatchCounts; failures: string[] }> {
    const deadLetters: DeadLetterCover = { covered: new Map(), summaries: [], failures: [] };
    const deadline = Date.now() + SUMMARIES_WITHIN_MS;
    for (;;) {
      await this.readNewDeadLetters(deadLetters);
      const { counts, failures, unaccounted } = await this.accountFor(published, deadLetters);
      if (unaccounted === 0 || Date.now() > deadline) {
        return { counts, failures: [...deadLetters.failures, ...failures] };
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Adds the dead letters stored since the last call to `found`: what each names, and bad ones. */
  private async readNewDeadLetters(found: DeadLetterCover): Promise<void> {
    const { bus, topology } = this.system;
    for (const letter of await readDeadLetters(bus, this.nextDeadLetterSeq)) {
      this.nextDeadLetterSeq = letter.seq + 1;
      const reason = letter.header.get(DEAD_LETTER_HEADERS.reason);
      const record = DeadLetterRecordSchema.parse(letter.json());
      if (!reason) found.failures.push(`dead letter ${letter.seq} has no ${DEAD_LETTER_HEADERS.reason}`);
      if (record.subject.startsWith(`${topology.root}.cluster.${this.agents.bystander}.`)) {
        found.failures.push(`a message of B was dead-lettered: ${record.reason}`);
      }
      const kind = reasonKind(record.reason);
      this.reasonKinds.set(kind, (this.reasonKinds.get(kind) ?? 0) + 1);
      for (const named of [record.seq, ...(record.more_seqs ?? [])]) {
        const key = `${record.stream}:${named}`;
        found.covered.set(key, (found.covered.get(key) ?? 0) + 1);
      }
      if (record.seq_ranges) found.summaries.push(record);
    }
  }

  /** How many dead letters name the attacker's message at `seq` of `stream`. */
  private timesNamed(deadLetters: DeadLetterCover, stream: string, seq: number): number {
    const writer = `agent ${this.agents.attacker}`;
    const inRanges = deadLetters.summaries.filter(
      (record) => record.stream === stream && record.seq !== seq && deadLetterStandsFor(record, seq, writer),
    ).length;
    return (deadLetters.covered.get(`${stream}:${seq}`) ?? 0) + inRanges;
  }

  /** The stored heartbeat at `seq`, or null once a later message on its subject replaced it. */
  private async storedHeartbeat(seq: number) {
    try {
      return await this.system.bus.jsm.streams.getMessage(this.system.topology.streamNames.heartbeat, {
        seq,
      });
    } catch {
      return null;
    }
  }

  /** Property 3 for one batch: how each stored message was accounted for, and the failures. */
  private async accountFor(published: readonly Published[], deadLetters: DeadLetterCover) {
    const names = this.system.topology.streamNames;
    const counts: BatchCounts = { deadLettered: 0, applied: 0, replaced: 0, notStored: 0 };
    const failures: string[] = [];
    let unaccounted = 0;
    const stored = published.filter((p) => p.seq !== null);
    counts.notStored = published.length - stored.length;
    const clusterSeqs = stored.filter((p) => p.stream === "cluster").map((p) => p.seq ?? 0);
    const history = new Set(
      clusterSeqs.length === 0
        ? []
        : (
            await this.db
              .selectFrom("read_model.cluster_snapshot_history")
              .select("stream_seq")
              .where("agent_id", "=", this.agents.attacker)
              .where("stream_seq", ">=", Math.min(...clusterSeqs))
              .execute()
          ).map((row) => Number(row.stream_seq)),
    );
    const collectors = new Map(
      (
        await this.db
          .selectFrom("read_model.collector_connections")
          .select(["collector_id", "last_heartbeat_at"])
          .where("agent_id", "=", this.agents.attacker)
          .execute()
      ).map((row) => [row.collector_id, new Date(row.last_heartbeat_at).getTime()]),
    );
    for (const p of stored) {
      const seq = p.seq ?? 0;
      const letters = this.timesNamed(deadLetters, names[p.stream], seq);
      // A snapshot's history row names its sequence, so "both" is exact there; a heartbeat's
      // reflection is only "its collector got this far", which a later heartbeat also gives.
      if (p.stream === "cluster" && letters > 0 && history.has(seq)) {
        failures.push(`seq ${seq} both applied and dead-lettered: ${p.message.label}`);
      }
      if (letters > 0) {
        counts.deadLettered += 1;
        continue;
      }
      const applied =
        p.stream === "cluster"
          ? history.has(seq) || "not in A's history"
          : await this.heartbeatReflected(seq, collectors);
      if (applied === "replaced") {
        // Only a later message on the same subject replaces one (the stream keeps the latest per subject).
        const later =
          published.some((q) => q.message.subject === p.message.subject && (q.seq ?? 0) > seq) ||
          p.message.subject ===
            this.system.topology.subjects.clusterCollectorHeartbeat(this.agents.attacker, "honest-a");
        if (later) counts.replaced += 1;
        else failures.push(`heartbeat seq ${seq} vanished from the stream: ${p.message.label}`);
      } else if (applied === true) counts.applied += 1;
      else {
        unaccounted += 1;
        failures.push(
          `${p.stream} seq ${seq} neither applied nor dead-lettered (${applied}): ${p.message.label}`,
        );
      }
    }
    return { counts, failures, unaccounted };
  }

  /**
   * Whether a heartbeat not dead-lettered shows in A's connections: its collector's row reached its
   * `sent_at`, clamped to when the server stored it (a heartbeat older than the row changes nothing,
   * which the row's later time also shows). "replaced": gone from the stream, superseded on its
   * subject. A collector row may also be gone: an agent keeps its newest
   * `MAX_COLLECTOR_CONNECTIONS_PER_AGENT`; then the agent's connection must have reached it.
   */
  private async heartbeatReflected(
    seq: number,
    collectors: Map<string, number>,
  ): Promise<true | "replaced" | string> {
    const message = await this.storedHeartbeat(seq);
    if (message === null) return "replaced";
    let data: { collector_id?: unknown; sent_at?: unknown };
    try {
      data = (JSON.parse(new TextDecoder().decode(message.data)) as { data: typeof data }).data ?? {};
    } catch {
      return "not JSON, yet not dead-lettered";
    }
    const sentAt = typeof data.sent_at === "string" ? Date.parse(data.sent_at) : Number.NaN;
    if (typeof data.collector_id !== "string" || Number.isNaN(sentAt)) return "no collector_id or sent_at";
    const expected = Math.min(sentAt, message.time.getTime());
    const row = collectors.get(data.collector_id);
    if (row !== undefined)
      return row >= expected - 1 ? true : `collector row at ${new Date(row).toISOString()}`;
    if (collectors.size >= 64) return true;
    return `no connection of collector ${JSON.stringify(data.collector_id).slice(0, 80)}`;
  }
}

/** `schema: …`, `not JSON`, `read model refused … SQLSTATE 22P05`: a reason without its details. */
function reasonKind(reason: string): string {
  const own = reason.replace(
    /^.*(refused beyond its dead-letter budget \(this one and (more_seqs|seq_ranges)\)|is over its dead-letter budget: .*?); this one: /,
    "",
  );
  const sqlState = /SQLSTATE \w+( [a-z_]+)?( \([^)]*\))?/.exec(own)?.[0];
  if (sqlState) return `read model: ${sqlState}`;
  if (/over the size limit/.test(own)) return "size limit";
  return own.split(/[:(]/)[0]?.slice(0, 40) ?? own;
}
