import { type Bus, isWrongLastSubjectSequence, publishEvent } from "@kasmap/bus";
import { type ClusterFacts, EVENT_TYPES, type KasmapEvent, newKasmapEvent } from "@kasmap/contracts";
import type { Logger } from "@kasmap/logging";
import type { CollectorReplica } from "./collector-identity.ts";

export type SnapshotTarget = {
  bus: Bus;
  agentId: number;
  /**
   * Whether the collector may publish now (its re-authentication lease runs, agent-lease.ts);
   * absent: always. A snapshot refused by it fails the cycle, which is tried again later; a
   * heartbeat is skipped.
   */
  mayPublish?: () => boolean;
};

/** The collector's lease on its agent token ran out or was refused: nothing is published. */
export class LeaseNotCurrentError extends Error {
  constructor(agentId: number) {
    super(`not publishing for agent ${agentId}: the agent token's lease is not current`);
    this.name = "LeaseNotCurrentError";
  }
}

export type SnapshotPublisherOptions = {
  target: SnapshotTarget;
  collectorId: string;
  /** Who this collector process is, sent in every heartbeat; absent: all null. */
  replica?: CollectorReplica;
  logger: Logger;
  /**
   * Largest message to publish (bytes). Default: the server's `max_payload` from its INFO; a
   * snapshot above it is refused with an error log instead of being truncated or split.
   */
  maxPayloadBytes?: number;
};

/** What happened to one snapshot. */
export type PublishOutcome = "published" | "unchanged" | "too-large";

/** Publishes on the snapshot subject that lost to another replica this often in a row, at most. */
const MAX_CONCURRENT_ATTEMPTS = 5;

/** Room left for the NATS headers (`Nats-Msg-Id`, `Ce-Type`, `Content-Type`) and protocol line. */
const HEADER_ALLOWANCE_BYTES = 512;

/**
 * Publishes `io.kasmap.cluster.snapshot.v1` on `<root>.cluster.<agentId>.snapshot` only when the
 * content hash differs from the last one on that subject, and heartbeats on
 * `<root>.cluster.<agentId>.heartbeat.<collector token>` carrying that hash.
 *
 * Replicas of one agent (issue 11) share the snapshot subject. Each publish expects the last
 * message on it to be the one this collector last saw (`Nats-Expected-Last-Subject-Sequence`);
 * when another replica wrote first, the collector reads what it wrote and publishes only if its
 * own content differs. So replicas watching one cluster write one history, not one each.
 */
export class SnapshotPublisher {
  private publishedHash: string | null = null;
  /** Stream sequence of the newest snapshot on the subject (0: none); null: unknown, expect nothing. */
  private lastSeq: number | null = null;
  /** The `cluster_uid` of the latest collection, sent with each heartbeat; null: unknown. */
  private clusterUid: string | null = null;
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
   * account without the permission) only means we publish once.
   */
  private async seedFromStream(): Promise<void> {
    const last = await this.readLastSnapshot();
    if (last === null) return;
    this.lastSeq = last.seq;
    if (last.hash && this.publishedHash === null) this.publishedHash = last.hash;
    if (last.hash) this.options.logger.info({ content_hash: last.hash }, "last published snapshot found");
  }

  /**
   * The newest snapshot on the agent's subject (`{ seq: 0, hash: null }` when there is none), or
   * null when it could not be read. A direct get by last subject
   * (`$JS.API.DIRECT.GET.<stream>.<subject>`) rather than `STREAM.MSG.GET`: its permission can
   * name this agent's subject alone, so a per-agent account cannot read other agents' snapshots.
   */
  private async readLastSnapshot(): Promise<{ seq: number; hash: string | null } | null> {
    const { bus, agentId } = this.options.target;
    try {
      const message = await bus.jsm.direct.getMessage(bus.topology.streamNames.cluster, {
        last_by_subj: bus.topology.subjects.clusterSnapshot(agentId),
      });
      return message
        ? { seq: message.seq, hash: readContentHash(message.json<unknown>()) }
        : { seq: 0, hash: null };
    } catch (error) {
      this.options.logger.debug({ error: String(error) }, "no previous snapshot read; will publish");
      return null;
    }
  }

  async publishIfChanged(facts: ClusterFacts, hash: string): Promise<PublishOutcome> {
    // The heartbeats name the cluster this collector last read, published or not.
    this.clusterUid = facts.cluster_uid ?? null;
    await this.seeded;
    if (hash === this.publishedHash) return "unchanged";
    const { bus, agentId } = this.options.target;
    if (!this.leaseCurrent()) throw new LeaseNotCurrentError(agentId);
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
    for (let attempt = 1; ; attempt++) {
      try {
        const position = await publishEvent(
          bus,
          event,
          this.lastSeq === null ? {} : { expectedLastSubjectSequence: this.lastSeq },
        );
        this.publishedHash = hash;
        this.lastSeq = position.seq;
        this.options.logger.info(
          { agent_id: agentId, content_hash: hash, seq: position.seq, bytes, nodes: facts.node_count },
          "published cluster snapshot",
        );
        return "published";
      } catch (error) {
        if (!isWrongLastSubjectSequence(error) || attempt >= MAX_CONCURRENT_ATTEMPTS) throw error;
      }
      // Another replica published first: take its snapshot when it says what ours says.
      const last = await this.readLastSnapshot();
      this.lastSeq = last?.seq ?? null;
      if (last?.hash === hash) {
        this.publishedHash = hash;
        this.options.logger.debug(
          { content_hash: hash, seq: last.seq },
          "another replica published this snapshot",
        );
        return "unchanged";
      }
    }
  }

  /**
   * Publishes this collector's heartbeat on its own subject; `stopping` says the process is
   * shutting down, so its connection ends now. Failures are logged, never thrown; resolves
   * whether the heartbeat was stored.
   */
  async heartbeat(options: { stopping?: boolean } = {}): Promise<boolean> {
    const { bus, agentId } = this.options.target;
    const { collectorId } = this.options;
    if (!this.leaseCurrent()) {
      this.options.logger.debug({ agent_id: agentId }, "heartbeat skipped: the lease is not current");
      return false;
    }
    const event = newKasmapEvent({
      type: EVENT_TYPES.clusterHeartbeat,
      source: `/kasmap/collector/${collectorId}`,
      subject: bus.topology.subjects.clusterCollectorHeartbeat(agentId, collectorId),
      data: {
        agent_id: agentId,
        collector_id: collectorId,
        content_hash: this.publishedHash,
        sent_at: new Date().toISOString(),
        ...(this.options.replica ?? {}),
        ...(this.clusterUid ? { cluster_uid: this.clusterUid } : {}),
        ...(options.stopping ? { stopping: true } : {}),
      },
    });
    return publishEvent(bus, event, { maxAttempts: 3 }).then(
      () => true,
      (error: unknown) => {
        this.options.logger.warn({ error: String(error) }, "heartbeat not published");
        return false;
      },
    );
  }

  private leaseCurrent(): boolean {
    return this.options.target.mayPublish?.() ?? true;
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
