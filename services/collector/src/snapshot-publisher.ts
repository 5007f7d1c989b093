import { type Bus, publishEvent } from "@kasmap/bus";
import { type ClusterFacts, EVENT_TYPES, type KasmapEvent, newKasmapEvent } from "@kasmap/contracts";
import type { Logger } from "@kasmap/logging";

export type SnapshotTarget = { bus: Bus; agentId: number };

export type SnapshotPublisherOptions = {
  target: SnapshotTarget;
  collectorId: string;
  logger: Logger;
  /**
   * Largest message to publish (bytes). Default: the server's `max_payload` from its INFO; a
   * snapshot above it is refused with an error log instead of being truncated or split.
   */
  maxPayloadBytes?: number;
};

/** What happened to one snapshot. */
export type PublishOutcome = "published" | "unchanged" | "too-large";

/** Room left for the NATS headers (`Nats-Msg-Id`, `Ce-Type`, `Content-Type`) and protocol line. */
const HEADER_ALLOWANCE_BYTES = 512;

/**
 * Publishes `io.kasmap.cluster.snapshot.v1` on `<root>.cluster.<agentId>.snapshot` only when the
 * content hash differs from the last one on that subject, and heartbeats on
 * `<root>.cluster.<agentId>.heartbeat` carrying that hash.
 */
export class SnapshotPublisher {
  private publishedHash: string | null = null;
  private readonly seeded: Promise<void>;

  constructor(private readonly options: SnapshotPublisherOptions) {
    this.seeded = this.seedFromStream();
  }

  /** Content hash of the newest snapshot on the subject (published by us or a predecessor). */
  get lastPublishedHash(): string | null {
    return this.publishedHash;
  }

  /**
   * A restarted collector looks at the newest snapshot on its subject first, so an unchanged
   * cluster does not add a duplicate to the audit log. Failure to read (no stream yet, an
   * account without the permission) only means we publish once. A direct get by last subject
   * (`$JS.API.DIRECT.GET.<stream>.<subject>`) rather than `STREAM.MSG.GET`: its permission can
   * name this agent's subject alone, so a per-agent account cannot read other agents' snapshots.
   */
  private async seedFromStream(): Promise<void> {
    const { bus, agentId } = this.options.target;
    const subject = bus.topology.subjects.clusterSnapshot(agentId);
    try {
      const message = await bus.jsm.direct.getMessage(bus.topology.streamNames.cluster, {
        last_by_subj: subject,
      });
      const hash = readContentHash(message?.json<unknown>());
      if (hash && this.publishedHash === null) this.publishedHash = hash;
      if (hash) this.options.logger.info({ content_hash: hash }, "last published snapshot found");
    } catch (error) {
      this.options.logger.debug({ error: String(error) }, "no previous snapshot read; will publish");
    }
  }

  async publishIfChanged(facts: ClusterFacts, hash: string): Promise<PublishOutcome> {
    await this.seeded;
    if (hash === this.publishedHash) return "unchanged";
    const { bus, agentId } = this.options.target;
    const event = newKasmapEvent({
      type: EVENT_TYPES.clusterSnapshot,
      source: `/kasmap/collector/${this.options.collectorId}`,
      subject: bus.topology.subjects.clusterSnapshot(agentId),
      data: { agent_id: agentId, content_hash: hash, cluster: facts },
    });
    const bytes = encodedBytes(event);
    const limit = this.maxPayloadBytes();
    if (limit !== null && bytes + HEADER_ALLOWANCE_BYTES > limit) {
      this.options.logger.error(
        { agent_id: agentId, content_hash: hash, bytes, max_payload: limit, nodes: facts.node_count },
        "cluster snapshot exceeds the NATS max_payload: not published; raise max_payload (up to 8 MB) in the server config",
      );
      return "too-large";
    }
    const position = await publishEvent(bus, event);
    this.publishedHash = hash;
    this.options.logger.info(
      { agent_id: agentId, content_hash: hash, seq: position.seq, bytes, nodes: facts.node_count },
      "published cluster snapshot",
    );
    return "published";
  }

  async heartbeat(): Promise<void> {
    const { bus, agentId } = this.options.target;
    const event = newKasmapEvent({
      type: EVENT_TYPES.clusterHeartbeat,
      source: `/kasmap/collector/${this.options.collectorId}`,
      subject: bus.topology.subjects.clusterHeartbeat(agentId),
      data: {
        agent_id: agentId,
        collector_id: this.options.collectorId,
        content_hash: this.publishedHash,
        sent_at: new Date().toISOString(),
      },
    });
    await publishEvent(bus, event, { maxAttempts: 3 }).catch((error: unknown) =>
      this.options.logger.warn({ error: String(error) }, "heartbeat not published"),
    );
  }

  private maxPayloadBytes(): number | null {
    return this.options.maxPayloadBytes ?? this.options.target.bus.nc.info?.max_payload ?? null;
  }
}

/** UTF-8 size of the event body exactly as `publishEvent` sends it. */
export function encodedBytes(event: KasmapEvent): number {
  return Buffer.byteLength(JSON.stringify(event), "utf8");
}

function readContentHash(body: unknown): string | null {
  if (body === null || typeof body !== "object") return null;
  const data = (body as { data?: unknown }).data;
  if (data === null || typeof data !== "object") return null;
  const hash = (data as { content_hash?: unknown }).content_hash;
  return typeof hash === "string" ? hash : null;
}
