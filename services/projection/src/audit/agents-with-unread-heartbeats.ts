import type { Bus } from "@kasmap/bus";
import type { ReadModelDatabase } from "@kasmap/db";
import type { MsgRequest, NextMsgRequest } from "@nats-io/jetstream";
import type { Kysely } from "kysely";
import type { PROJECTION_CONSUMERS } from "../consume/projection-consumer.ts";
import { partitionOfAgent } from "../partitions/agent-partition.ts";

/** The heartbeat consumer: its rows in `projection_positions` and `projection_partition_positions`. */
const HEARTBEAT_CONSUMER: (typeof PROJECTION_CONSUMERS)[number]["durable"] = "projection-heartbeat";

/** Requests in flight at once: the JetStream API answers them in turn. */
const CONCURRENT_LOOKUPS = 64;

/**
 * The heartbeat consumer's stored positions (last heartbeat-stream sequences applied): the whole
 * stream's (`KASMAP_PROJECTION_PARTITIONS` = 1), and each partition's of every layout used.
 */
export type HeartbeatCheckpoints = {
  whole: number;
  partitions: readonly { count: number; index: number; seq: number }[];
};

/**
 * The heartbeat-stream sequence up to which every heartbeat of `agentId` has been read (applied,
 * or refused and dead-lettered): the highest of the whole-stream position and, in each partition
 * layout, the position of the agent's partition (`partitionOfAgent`). Each of them bounds it
 * alone, whichever layout runs now: a partition's consumer reads every message of its agents up
 * to its position. 0 when none was stored.
 */
export function heartbeatCheckpointOf(checkpoints: HeartbeatCheckpoints, agentId: number): number {
  let seq = checkpoints.whole;
  for (const row of checkpoints.partitions) {
    if (row.index === partitionOfAgent(agentId, row.count)) seq = Math.max(seq, row.seq);
  }
  return seq;
}

/**
 * ```sql
 * select stream_seq from read_model.projection_positions where consumer = 'projection-heartbeat';
 * select partition_count, partition_index, stream_seq from read_model.projection_partition_positions
 *  where consumer = 'projection-heartbeat';
 * ```
 */
async function readHeartbeatCheckpoints(db: Kysely<ReadModelDatabase>): Promise<HeartbeatCheckpoints> {
  const [whole, partitions] = await Promise.all([
    db
      .selectFrom("read_model.projection_positions")
      .select("stream_seq")
      .where("consumer", "=", HEARTBEAT_CONSUMER)
      .executeTakeFirst(),
    db
      .selectFrom("read_model.projection_partition_positions")
      .select(["partition_count", "partition_index", "stream_seq"])
      .where("consumer", "=", HEARTBEAT_CONSUMER)
      .execute(),
  ]);
  return {
    whole: Number(whole?.stream_seq ?? 0),
    partitions: partitions.map((row) => ({
      count: Number(row.partition_count),
      index: Number(row.partition_index),
      seq: Number(row.stream_seq),
    })),
  };
}

/**
 * The agents among `agentIds` with a heartbeat in the heartbeat stream past their checkpoint
 * (`heartbeatCheckpointOf`): heartbeats the projection has not read yet, because its heartbeat
 * consumer (or the agent's partition of it) is behind. For those, the read model's last
 * heartbeat says how far the projection got, not when the collector went quiet.
 *
 * For any other agent, the newest message of each of its subjects was applied: the stream keeps
 * only the newest per subject, the checkpoints are read first, and a message at or below one was
 * still there when its consumer passed it, since it is there after. That is why this asks the
 * stream per agent instead of comparing times: a consumer that falls a heartbeat interval behind
 * finds each older heartbeat already replaced by the next, unread, so neither the time of what
 * it applied last nor the age of its oldest unread message says what it missed.
 *
 * One `STREAM.INFO` (agents whose checkpoint is at the stream's last sequence have nothing
 * unread), then for each other agent up to two `$JS.API.STREAM.MSG.GET.<heartbeat stream>`
 * `{ seq: checkpoint + 1, next_by_subj }`, on `<root>.cluster.<agentId>.heartbeat.*` and on the
 * subject of collectors before issue 11, `<root>.cluster.<agentId>.heartbeat`, answered by the
 * stream's leader, `CONCURRENT_LOOKUPS` at a time.
 */
export async function agentsWithUnreadHeartbeats(
  db: Kysely<ReadModelDatabase>,
  bus: Bus,
  agentIds: readonly number[],
): Promise<UnreadHeartbeats> {
  const unread = new Set<number>();
  const checkpoints = await readHeartbeatCheckpoints(db);
  if (agentIds.length === 0) return { unread, checkpoints };
  const stream = bus.topology.streamNames.heartbeat;
  const { state } = await bus.jsm.streams.info(stream);
  const lastSeq = state.messages === 0 ? 0 : state.last_seq;
  const behind = agentIds
    .map((agentId) => ({ agentId, checkpoint: heartbeatCheckpointOf(checkpoints, agentId) }))
    .filter(({ checkpoint }) => checkpoint < lastSeq);
  for (let start = 0; start < behind.length; start += CONCURRENT_LOOKUPS) {
    await Promise.all(
      behind.slice(start, start + CONCURRENT_LOOKUPS).map(async ({ agentId, checkpoint }) => {
        if (await hasHeartbeatAfter(bus, stream, agentId, checkpoint)) unread.add(agentId);
      }),
    );
  }
  return { unread, checkpoints };
}

/** What `agentsWithUnreadHeartbeats` found, with the checkpoints it compared with. */
export type UnreadHeartbeats = {
  /** The agents with a heartbeat past their checkpoint. */
  unread: ReadonlySet<number>;
  checkpoints: HeartbeatCheckpoints;
};

/** Whether the stream holds a heartbeat of the agent, on either kind of subject, past `seq`. */
async function hasHeartbeatAfter(bus: Bus, stream: string, agentId: number, seq: number): Promise<boolean> {
  const { subjects } = bus.topology;
  for (const subject of [subjects.clusterCollectorHeartbeats(agentId), subjects.clusterHeartbeat(agentId)]) {
    const query: NextMsgRequest = { seq: seq + 1, next_by_subj: subject };
    // nats.js types `next_by_subj` for direct gets only, which a follower may answer from behind
    // the leader; STREAM.MSG.GET takes it too (nats-server 2.9), and the leader answers it.
    const message = await bus.jsm.streams.getMessage(stream, query as unknown as MsgRequest);
    if (message !== null) return true;
  }
  return false;
}
