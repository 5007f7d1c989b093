import { type Bus, maxPayloadBytes, requestCommand } from "@kasmap/bus";
import {
  AGENT_CONFIG_MAX_BYTES,
  type AuthzCommandRequest,
  isKasmapError,
  KasmapError,
  MIRROR_BATCH_MAX_BYTES,
  MIRROR_BATCH_MAX_ITEMS,
  MIRROR_REFUSAL_CODES,
  utf8ByteLength,
} from "@kasmap/contracts";

/**
 * The `mirror.*` commands to authz (docs/gitlab-mode.md), the sync service's only way to change
 * the registry: authz stays its one owner and publisher. A refusal comes back as authz's
 * `KasmapError`; authz not answering is `unavailable`.
 */
export type MirrorGroup = AuthzCommandRequest<"mirror.group.put">;
export type MirrorProject = AuthzCommandRequest<"mirror.project.put">;
export type MirrorAgent = AuthzCommandRequest<"mirror.agent.put">;
export type MirrorKind = AuthzCommandRequest<"mirror.remove">["kind"];
export type MirroredCounts = { groups: number; projects: number; agents: number };
/** An entity a batch put refused for good (`MIRROR_REFUSAL_CODES`); the others were put. */
export type MirrorRefusal = { id: number; error: KasmapError };
type MirrorRefusalCode = (typeof MIRROR_REFUSAL_CODES)[number];
/**
 * An agent's config file as read from GitLab: its text, none, or one over
 * `AGENT_CONFIG_MAX_BYTES` that was not read whole (its size in bytes when known).
 */
export type AgentConfigFile =
  | { kind: "file"; yaml: string }
  | { kind: "missing" }
  | { kind: "oversized"; bytes: number | null };

export type MirrorCommands = {
  putGroup(group: MirrorGroup): Promise<void>;
  putProject(project: MirrorProject): Promise<void>;
  /** Puts groups in order (a parent before its children), in as few batches as fit. */
  putGroups(groups: readonly MirrorGroup[]): Promise<MirrorRefusal[]>;
  putProjects(projects: readonly MirrorProject[]): Promise<MirrorRefusal[]>;
  putAgent(agent: MirrorAgent): Promise<void>;
  /**
   * An oversized file, or one whose request would be over NATS `max_payload`, is recorded as
   * refused by authz; the previous grants stay.
   */
  putAgentConfig(agentId: number, file: AgentConfigFile): Promise<void>;
  remove(kind: MirrorKind, id: number): Promise<void>;
  /**
   * `mirror.walk.begin`: when a full reconcile's walk begins, by authz's clock (its database's,
   * the one puts stamp `mirrored_at` with), for the sweep after it; null when authz predates the
   * command (it answers `bad_request`, unknown command, as it would to nothing else for `{}`):
   * a walk without a start sweeps nothing.
   */
  beginWalk(): Promise<Date | null>;
  /**
   * `mirror.agents.keep`: the project's mirrored agents stamped as if put again, so the sweep
   * keeps them (the walk could not read the project's agent listing whole); how many.
   */
  keepAgentsOf(projectId: number): Promise<number>;
  /** `mirror.sweep`: removes what no put stamped since `walkStartedAt` (from `beginWalk`). */
  sweep(walkStartedAt: Date, rootGroupIds: number[] | null): Promise<MirroredCounts>;
  status(timeoutMs: number): Promise<MirroredCounts>;
};

/** A sweep of a large mirror removes in one transaction; it may take longer than a put. */
const SWEEP_TIMEOUT_MS = 120_000;
/** A batch is one transaction of up to 100 puts and their events' publication. */
const BATCH_TIMEOUT_MS = 60_000;
/** Room left in a batch for its envelope (`{"projects":[…]}`) and the separators. */
const BATCH_ENVELOPE_BYTES = 64;

export function mirrorCommands(bus: Bus): MirrorCommands {
  const commands: MirrorCommands = {
    async putGroup(group) {
      await requestCommand(bus, "mirror.group.put", group);
    },
    async putProject(project) {
      await requestCommand(bus, "mirror.project.put", project);
    },
    putGroups: (groups) =>
      putInBatches(groups, commands.putGroup, async (batch) => {
        const request = { groups: batch };
        const { result } = await requestCommand(bus, "mirror.groups.put", request, BATCH_TIMEOUT_MS);
        return result.refused;
      }),
    putProjects: (projects) =>
      putInBatches(projects, commands.putProject, async (batch) => {
        const request = { projects: batch };
        const { result } = await requestCommand(bus, "mirror.projects.put", request, BATCH_TIMEOUT_MS);
        return result.refused;
      }),
    async putAgent(agent) {
      await requestCommand(bus, "mirror.agent.put", agent);
    },
    async putAgentConfig(agentId, file) {
      const request = agentConfigRequest(agentId, file, maxPayloadBytes(bus.nc));
      await requestCommand(bus, "mirror.agent_config.put", request);
    },
    async remove(kind, id) {
      await requestCommand(bus, "mirror.remove", { kind, id });
    },
    async beginWalk() {
      try {
        const { result } = await requestCommand(bus, "mirror.walk.begin", {});
        return new Date(result.started_at);
      } catch (error) {
        if (isKasmapError(error, "bad_request")) return null;
        throw error;
      }
    },
    async keepAgentsOf(projectId) {
      const { result } = await requestCommand(bus, "mirror.agents.keep", { project_id: projectId });
      return result.kept;
    },
    async sweep(walkStartedAt, rootGroupIds) {
      const request = { walk_started_at: walkStartedAt.toISOString(), root_group_ids: rootGroupIds };
      const { result } = await requestCommand(bus, "mirror.sweep", request, SWEEP_TIMEOUT_MS);
      return { groups: result.groups, projects: result.projects, agents: result.agents };
    },
    async status(timeoutMs) {
      const { result } = await requestCommand(bus, "mirror.status", {}, timeoutMs);
      return { groups: result.groups, projects: result.projects, agents: result.agents };
    },
  };
  return commands;
}

/**
 * The request for `file`. A file whose request, JSON-encoded, would be over `maxPayload` (the
 * server's `max_payload`, bytes; `requestCommand` would refuse to send it) goes as `oversized`
 * with both sizes and that limit, so authz records why it was refused, as it does for a file
 * over 256 KiB: control characters, say, are 1 byte each in the file and 6 (`\u0001`) in JSON.
 */
export function agentConfigRequest(
  agentId: number,
  file: AgentConfigFile,
  maxPayload: number,
): AuthzCommandRequest<"mirror.agent_config.put"> {
  switch (file.kind) {
    case "file": {
      const request = { agent_id: agentId, yaml: file.yaml };
      const requestBytes = utf8ByteLength(JSON.stringify(request));
      if (requestBytes <= maxPayload) return request;
      const bytes = utf8ByteLength(file.yaml);
      const tooLarge =
        bytes > AGENT_CONFIG_MAX_BYTES
          ? { bytes }
          : { bytes, request: { bytes: requestBytes, max_payload: maxPayload } };
      return { agent_id: agentId, yaml: null, oversized: tooLarge };
    }
    case "missing":
      return { agent_id: agentId, yaml: null };
    case "oversized":
      return { agent_id: agentId, yaml: null, oversized: { bytes: file.bytes } };
  }
}

/**
 * A refusal no retry changes while GitLab has the thing as it is now: authz's per-entity
 * refusals (`MIRROR_REFUSAL_CODES`: a path Kasmap cannot hold, a parent it never got, an id its
 * own registry holds) and `payload_too_large` (a request over NATS `max_payload`, refused before
 * it is sent, or a reply authz could not fit). The reconcile skips and reports it, the inbox
 * acknowledges it; the next reconcile meets it again.
 */
export function isPermanentMirrorRefusal(error: unknown): error is KasmapError {
  return (
    MIRROR_REFUSAL_CODES.some((code) => isKasmapError(error, code)) ||
    isKasmapError(error, "payload_too_large")
  );
}

/**
 * Sends `items` in order in batches of at most `MIRROR_BATCH_MAX_ITEMS` and
 * `MIRROR_BATCH_MAX_BYTES`; an entity too large for any batch (a very long description) goes
 * alone through its single put. Returns what authz refused for good.
 */
async function putInBatches<T extends { id: number }>(
  items: readonly T[],
  putOne: (item: T) => Promise<void>,
  putBatch: (batch: T[]) => Promise<Array<{ id: number; code: MirrorRefusalCode; message: string }>>,
): Promise<MirrorRefusal[]> {
  const refusals: MirrorRefusal[] = [];
  for (const batch of batchesOf(items)) {
    if (
      batch.length > 1 ||
      batchBytes([utf8ByteLength(JSON.stringify(batch[0]))]) <= MIRROR_BATCH_MAX_BYTES
    ) {
      for (const { id, code, message } of await putBatch(batch)) {
        refusals.push({ id, error: new KasmapError(code, message) });
      }
      continue;
    }
    const [item] = batch as [T];
    try {
      await putOne(item);
    } catch (error) {
      if (!MIRROR_REFUSAL_CODES.some((code) => isKasmapError(error, code))) throw error;
      refusals.push({ id: item.id, error: error as KasmapError });
    }
  }
  return refusals;
}

/** Consecutive runs of `items` that fit one batch; an item that fits none is a run of its own. */
export function batchesOf<T>(items: readonly T[]): T[][] {
  const batches: T[][] = [];
  let batch: T[] = [];
  let sizes: number[] = [];
  for (const item of items) {
    const size = utf8ByteLength(JSON.stringify(item));
    const full =
      batch.length === MIRROR_BATCH_MAX_ITEMS || batchBytes([...sizes, size]) > MIRROR_BATCH_MAX_BYTES;
    if (batch.length > 0 && full) {
      batches.push(batch);
      batch = [];
      sizes = [];
    }
    batch.push(item);
    sizes.push(size);
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** Bytes of a batch request holding items of these JSON sizes. */
function batchBytes(sizes: readonly number[]): number {
  return BATCH_ENVELOPE_BYTES + sizes.reduce((sum, size) => sum + size + 1, 0);
}
