import { type Bus, isWrongLastSubjectSequence, publishEvent } from "@kasmap/bus";
import { type ClusterFacts, EVENT_TYPES, type KasmapEvent, newKasmapEvent } from "@kasmap/contracts";
import type { Logger } from "@kasmap/logging";
import type { CollectorReplica } from "./collector-identity.ts";
import {
  decodeObservedVersions,
  encodeObservedVersions,
  OBSERVED_VERSIONS_HEADER,
  type ObservedVersions,
  sourcesBehind,
} from "./observed-versions.ts";

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
  /** How long to defer to a newer snapshot of another replica at most; default 30 s. */
  behindGraceMs?: number;
};

/**
 * What happened to one snapshot. `behind`: not published, because the subject's newest snapshot
 * (another replica's) shows a newer state of some source than this collector has seen yet.
 */
export type PublishOutcome = "published" | "unchanged" | "behind" | "too-large";

/** Publishes on the snapshot subject that lost to another replica this often in a row, at most. */
const MAX_CONCURRENT_ATTEMPTS = 5;

/** Room left for the NATS headers (`Nats-Msg-Id`, `Ce-Type`, `Content-Type`) and protocol line. */
const HEADER_ALLOWANCE_BYTES = 512;

/**
 * How long a collector defers to a newer snapshot of another replica at most (milliseconds):
 * a lagging watch catches up in far less; a source quiet since this collector listed it only
 * advances its version with the next bookmark (about a minute), and a resourceVersion that went
 * backwards (etcd restored from a backup) never does. After this the collector's own view wins.
 */
export const DEFAULT_BEHIND_GRACE_MS = 30_000;

/** The newest snapshot on the agent's subject, as far as this collector knows. */
type KnownSnapshot = {
  /** Its stream sequence; 0: the subject has no snapshot. */
  seq: number;
  hash: string | null;
  clusterUid: string | null;
  /** The view it was derived from; null: not said (no snapshot, or an older collector's). */
  versions: ObservedVersions | null;
};

/**
 * Publishes `io.kasmap.cluster.snapshot.v1` on `<root>.cluster.<agentId>.snapshot` only when the
 * content hash differs from the last one on that subject, and heartbeats on
 * `<root>.cluster.<agentId>.heartbeat.<collector token>` carrying that hash.
 *
 * Replicas of one agent (issue 11) share the snapshot subject and write one history between
 * them, by two rules:
 * - each publish expects the last message on the subject to be the one this collector knows
 *   (`Nats-Expected-Last-Subject-Sequence`); when another replica wrote first, the collector
 *   reads what it wrote and adopts it when its own content is the same;
 * - each snapshot carries the `resourceVersion` per source its content was derived at (header
 *   `Kasmap-Observed-Versions`); a collector whose view is older than the subject's newest
 *   snapshot for some source publishes nothing (`behind`): its watch has not yet delivered what
 *   the other replica already published, and writing its view would put an old state after the
 *   new one (and the new one again after it). Its own watch catches up and it then derives the
 *   same content. After {@link DEFAULT_BEHIND_GRACE_MS} it publishes its view regardless.
 */
export class SnapshotPublisher {
  /** Null: not known (the subject could not be read); publishes then expect nothing. */
  private last: KnownSnapshot | null = null;
  /** Since when this collector defers to the subject's snapshot `seq` (behind it). */
  private behind: { seq: number; since: number } | null = null;
  /** The `cluster_uid` of the latest collection, sent with each heartbeat; null: unknown. */
  private clusterUid: string | null = null;
  private readonly seeded: Promise<void>;

  constructor(private readonly options: SnapshotPublisherOptions) {
    this.seeded = this.seedFromStream();
  }

  /** Resolves once the subject's newest snapshot was read at start (or could not be). */
  ready(): Promise<void> {
    return this.seeded;
  }

  /** Content hash of the newest snapshot on the subject (published by us or another collector). */
  get lastPublishedHash(): string | null {
    return this.last?.hash ?? null;
  }

  /**
   * A restarted collector looks at the newest snapshot on its subject first, so an unchanged
   * cluster does not add a duplicate to the audit log. Failure to read (no stream yet, an
   * account without the permission) only means we publish once.
   */
  private async seedFromStream(): Promise<void> {
    const last = await this.readLastSnapshot();
    if (last === null) return;
    this.last = last;
    if (last.hash) this.options.logger.info({ content_hash: last.hash }, "last published snapshot found");
  }

  /**
   * The newest snapshot on the agent's subject (`seq` 0 when there is none), or null when it
   * could not be read. A direct get by last subject (`$JS.API.DIRECT.GET.<stream>.<subject>`)
   * rather than `STREAM.MSG.GET`: its permission can name this agent's subject alone, so a
   * per-agent account cannot read other agents' snapshots.
   */
  private async readLastSnapshot(): Promise<KnownSnapshot | null> {
    const { bus, agentId } = this.options.target;
    try {
      const message = await bus.jsm.direct.getMessage(bus.topology.streamNames.cluster, {
        last_by_subj: bus.topology.subjects.clusterSnapshot(agentId),
      });
      if (!message) return { seq: 0, hash: null, clusterUid: null, versions: null };
      const body = message.json<unknown>();
      return {
        seq: message.seq,
        hash: readContentHash(body),
        clusterUid: readClusterUid(body),
        versions: decodeObservedVersions(message.header?.get(OBSERVED_VERSIONS_HEADER)),
      };
    } catch (error) {
      this.options.logger.debug({ error: String(error) }, "no previous snapshot read; will publish");
      return null;
    }
  }

  /**
   * Publishes `facts` unless the subject's newest snapshot has the same `hash`, or shows a newer
   * state than `versions` (the view `facts` were derived from; absent: never behind).
   */
  async publishIfChanged(
    facts: ClusterFacts,
    hash: string,
    versions: ObservedVersions = {},
  ): Promise<PublishOutcome> {
    // The heartbeats name the cluster this collector last read, published or not.
    this.clusterUid = facts.cluster_uid ?? null;
    await this.seeded;
    if (hash === this.last?.hash) return this.unchanged();
    const { bus, agentId } = this.options.target;
    if (!this.leaseCurrent()) throw new LeaseNotCurrentError(agentId);
    const event = newKasmapEvent({
      type: EVENT_TYPES.clusterSnapshot,
      source: `/kasmap/collector/${this.options.collectorId}`,
      subject: bus.topology.subjects.clusterSnapshot(agentId),
      data: { agent_id: agentId, content_hash: hash, cluster: facts },
    });
    const headers = { [OBSERVED_VERSIONS_HEADER]: encodeObservedVersions(versions) };
    const bytes = encodedBytes(event);
    const limit = this.maxPayloadBytes();
    const headerBytes = HEADER_ALLOWANCE_BYTES + Buffer.byteLength(headers[OBSERVED_VERSIONS_HEADER]);
    if (limit !== null && bytes + headerBytes > limit) {
      this.options.logger.error(
        { agent_id: agentId, content_hash: hash, bytes, max_payload: limit, nodes: facts.node_count },
        "cluster snapshot exceeds the NATS max_payload: not published; raise max_payload (up to 8 MB) in the server config",
      );
      return "too-large";
    }
    // Not known yet (the first read failed): look again, so a replica does not publish blind.
    let fresh = this.last === null;
    if (fresh) this.last = await this.readLastSnapshot();
    for (let attempt = 1; ; attempt++) {
      if (this.deferring(hash, versions)) {
        if (fresh) return "behind";
        // What we know may be old: the other replica may have published our content since.
        this.last = (await this.readLastSnapshot()) ?? this.last;
        fresh = true;
        if (this.last?.hash === hash) return this.unchanged();
        if (this.deferring(hash, versions)) return "behind";
      }
      const expected = this.last?.seq;
      try {
        const position = await publishEvent(bus, event, {
          headers,
          ...(expected === undefined ? {} : { expectedLastSubjectSequence: expected }),
        });
        this.last = { seq: position.seq, hash, clusterUid: this.clusterUid, versions };
        this.behind = null;
        this.options.logger.info(
          { agent_id: agentId, content_hash: hash, seq: position.seq, bytes, nodes: facts.node_count },
          "published cluster snapshot",
        );
        return "published";
      } catch (error) {
        if (!isWrongLastSubjectSequence(error) || attempt >= MAX_CONCURRENT_ATTEMPTS) throw error;
        // Another replica published first: see what. Unreadable: fail the cycle (it is tried
        // again) rather than publish expecting nothing, which could write a duplicate.
        const last = await this.readLastSnapshot();
        if (last === null) throw error;
        this.last = last;
        fresh = true;
      }
      if (this.last.hash === hash) {
        this.options.logger.debug(
          { content_hash: hash, seq: this.last.seq },
          "another replica published this snapshot",
        );
        return this.unchanged();
      }
    }
  }

  private unchanged(): PublishOutcome {
    this.behind = null;
    return "unchanged";
  }

  /**
   * Whether to leave the subject's newest snapshot (another collector's, different content) in
   * place because it shows a newer state of some source than `versions`: yes, for at most
   * `behindGraceMs` per snapshot. Only views of one cluster are compared.
   */
  private deferring(hash: string, versions: ObservedVersions): boolean {
    const last = this.last;
    if (!last?.versions || last.hash === hash || last.clusterUid !== this.clusterUid) return false;
    const sources = sourcesBehind(versions, last.versions);
    if (sources.length === 0) return false;
    const now = Date.now();
    if (this.behind?.seq !== last.seq) this.behind = { seq: last.seq, since: now };
    const graceMs = this.options.behindGraceMs ?? DEFAULT_BEHIND_GRACE_MS;
    const waited = now - this.behind.since;
    if (waited < graceMs) {
      this.options.logger.debug(
        { content_hash: hash, newest: last.hash, seq: last.seq, sources_behind: sources },
        "the subject's snapshot is newer than this collector's view: not publishing over it",
      );
      return true;
    }
    this.options.logger.warn(
      { content_hash: hash, newest: last.hash, seq: last.seq, sources_behind: sources, waited_ms: waited },
      "this collector's view stayed behind the subject's snapshot: publishing it",
    );
    return false;
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
        content_hash: this.lastPublishedHash,
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
  const hash = eventData(body)?.content_hash;
  return typeof hash === "string" ? hash : null;
}

function readClusterUid(body: unknown): string | null {
  const cluster = eventData(body)?.cluster;
  if (cluster === null || typeof cluster !== "object") return null;
  const uid = (cluster as { cluster_uid?: unknown }).cluster_uid;
  return typeof uid === "string" ? uid : null;
}

function eventData(body: unknown): Record<string, unknown> | null {
  if (body === null || typeof body !== "object") return null;
  const data = (body as { data?: unknown }).data;
  return data !== null && typeof data === "object" ? (data as Record<string, unknown>) : null;
}
