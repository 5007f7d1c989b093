import { z } from "zod";
import { AGENT_CONFIG_MAX_BYTES, AgentConfigPutResultSchema, utf8ByteLength } from "./agent-config.ts";
import { AgentNameSchema, NamespaceKindSchema, PathSchema } from "./registry.ts";

/**
 * GitLab mode (docs/gitlab-mode.md, "authz: mirror.* commands"): the sync service hands authz
 * what it read from GitLab, with GitLab's ids, names, paths and creation times kept verbatim.
 * No `actor_user_id`: only the `sync` NATS identity may send `<root>.cmd.authz.mirror.>`, and
 * the events they cause carry `actor_user_id: null` (a system change). Every put is idempotent:
 * it stamps `mirrored_at` and publishes nothing when nothing changed (`changed: false`).
 */

const Id = z.number().int().positive();
const Time = z.iso.datetime({ offset: true });
const Name = z.string().min(1).max(255);
const Changed = z.object({ changed: z.boolean() });

/** Most entities one batch put carries: one GitLab page (GitLab's `per_page` is at most 100). */
export const MIRROR_BATCH_MAX_ITEMS = 100;
/**
 * Largest batch put request, bytes of JSON: half of NATS's default `max_payload` (1 MiB), so a
 * batch always fits. The sync splits a page that does not fit, and puts an entity that alone
 * does not (a very long description) with the single put.
 */
export const MIRROR_BATCH_MAX_BYTES = 512 * 1024;
/** The refusals a batch reports per entity; any other failure fails the whole batch. */
export const MIRROR_REFUSAL_CODES = ["validation_failed", "not_found", "conflict"] as const;

const MirrorGroupSchema = z.object({
  id: Id,
  name: Name,
  path: PathSchema,
  description: z.string().nullable(),
  parent_id: Id.nullable(),
  created_at: Time,
});
const MirrorProjectSchema = z.object({
  id: Id,
  name: Name,
  path: PathSchema,
  description: z.string().nullable(),
  namespace: z.object({ id: Id, kind: NamespaceKindSchema, path: PathSchema, name: Name }),
  created_at: Time,
});

/**
 * `{ [field]: items }`: 1 to `MIRROR_BATCH_MAX_ITEMS` entities of distinct ids, at most
 * `MIRROR_BATCH_MAX_BYTES` of JSON in all.
 */
function batchOf<F extends string, T extends z.ZodType<{ id: number }>>(field: F, item: T) {
  const items = z
    .array(item)
    .min(1)
    .max(MIRROR_BATCH_MAX_ITEMS)
    .refine((list) => new Set(list.map((entity) => entity.id)).size === list.length, {
      message: "ids must be distinct within a batch",
    });
  return z
    .object({ [field]: items } as { [K in F]: typeof items })
    .refine((batch) => utf8ByteLength(JSON.stringify(batch)) <= MIRROR_BATCH_MAX_BYTES, {
      message: `a batch holds at most ${MIRROR_BATCH_MAX_BYTES} bytes of JSON`,
    });
}

/**
 * A file that does not travel in `mirror.agent_config.put`. `bytes`: its size in UTF-8, null
 * when GitLab did not declare it and the sync stopped reading. Without `request` (the only form
 * before `request` was added): a file over `AGENT_CONFIG_MAX_BYTES`, so `bytes` is over it or
 * null. With `request`: a file within that limit whose request, JSON-encoded, is `request.bytes`
 * bytes, over the NATS server's `request.max_payload` (bytes) — e.g. control characters, 1 byte
 * each in the file and 6 (`\u0001`) in JSON.
 */
const OversizedAgentConfigSchema = z
  .object({
    bytes: z.number().int().nonnegative().nullable(),
    request: z
      .object({ bytes: z.number().int().positive(), max_payload: z.number().int().positive() })
      .optional(),
  })
  .superRefine(({ bytes, request }, context) => {
    if (request === undefined) {
      if (bytes !== null && bytes <= AGENT_CONFIG_MAX_BYTES) {
        context.addIssue({
          code: "custom",
          message: `bytes must be over ${AGENT_CONFIG_MAX_BYTES} or null when request is not given`,
          path: ["bytes"],
        });
      }
      return;
    }
    if (bytes === null || bytes > AGENT_CONFIG_MAX_BYTES) {
      context.addIssue({
        code: "custom",
        message: `bytes must be at most ${AGENT_CONFIG_MAX_BYTES} when request is given`,
        path: ["bytes"],
      });
    }
    if (request.bytes <= request.max_payload) {
      context.addIssue({
        code: "custom",
        message: "request.bytes must be over request.max_payload",
        path: ["request", "bytes"],
      });
    }
  });

/**
 * `mirror.agent_config.put`'s request: the file's text, or `null` with no `oversized` for no
 * file, or `null` with `oversized` for a file that does not travel (`OversizedAgentConfigSchema`:
 * over `AGENT_CONFIG_MAX_BYTES`, or too large for NATS once encoded). Exactly one of `yaml` and
 * `oversized` carries the file: `oversized` with a `yaml` is refused.
 */
const MirrorAgentConfigSchema = z
  .object({
    agent_id: Id,
    yaml: z.string().nullable(),
    oversized: OversizedAgentConfigSchema.optional(),
  })
  .refine((request) => request.oversized === undefined || request.yaml === null, {
    message: "yaml must be null when oversized is given",
    path: ["yaml"],
  });

/** What a batch put did: the ids it changed, and the entities refused (the rest are put). */
const BatchResult = z.object({
  changed: z.array(Id),
  refused: z.array(z.object({ id: Id, code: z.enum(MIRROR_REFUSAL_CODES), message: z.string() })),
});

export const MIRROR_COMMANDS = {
  /** A group; its parent must have been mirrored first (else `not_found` Group). */
  "mirror.group.put": { request: MirrorGroupSchema, result: Changed },
  /**
   * A project in a group (mirrored first) or in a user's personal namespace, which is created or
   * renamed here with GitLab's namespace id (`kind: "user"`, `owner_id: null`: GitLab's users
   * are not mirrored).
   */
  "mirror.project.put": { request: MirrorProjectSchema, result: Changed },
  /**
   * Groups as `mirror.group.put` puts them, in request order and in one transaction, with the
   * same events; a parent comes before its children (an earlier batch, or earlier in this one).
   * An entity refused for good (`MIRROR_REFUSAL_CODES`) is listed in `refused` with nothing of it
   * applied; any other failure fails the whole batch.
   */
  "mirror.groups.put": { request: batchOf("groups", MirrorGroupSchema), result: BatchResult },
  /** Projects as `mirror.project.put` puts them, as `mirror.groups.put` puts groups. */
  "mirror.projects.put": { request: batchOf("projects", MirrorProjectSchema), result: BatchResult },
  "mirror.agent.put": {
    request: z.object({ id: Id, project_id: Id, name: AgentNameSchema, created_at: Time }),
    result: Changed,
  },
  /**
   * The agent's `.gitlab/agents/<name>/config.yaml` on the default branch; `yaml: null`: no
   * file, read as `{}`. A refused file is recorded (`on_refusal: "record"`). A file over
   * `AGENT_CONFIG_MAX_BYTES` comes as `oversized` (the sync stops reading it there; it could not
   * travel in this request anyway) and is recorded as refused `payload_too_large`, naming its
   * size when known; so is a file within that limit whose request would be over NATS
   * `max_payload` (`oversized.request`), naming both sizes and that limit. The previous grants
   * stay in force, as KAS keeps an agent's last configuration when it refuses a file over its
   * limit. The same content as the last one mirrored (accepted or refused; for an oversized
   * file, the same sizes) publishes nothing;
   * the reply then carries the counts in force and no `refusal`.
   */
  "mirror.agent_config.put": {
    request: MirrorAgentConfigSchema,
    result: AgentConfigPutResultSchema,
  },
  /** Removes one mirrored thing; a group takes its subtree. `removed: false` when it was not there. */
  "mirror.remove": {
    request: z.object({ kind: z.enum(["group", "project", "agent"]), id: Id }),
    result: z.object({ removed: z.boolean() }),
  },
  /**
   * Begins a full reconcile's walk: `started_at` is the time the sweep after it is given
   * (`mirror.sweep`'s `walk_started_at`), read from the clock every put stamps `mirrored_at` with
   * (authz's database), so no host's clock decides what a sweep removes. Publishes nothing.
   */
  "mirror.walk.begin": {
    request: z.object({}),
    result: z.object({ started_at: Time }),
  },
  /**
   * Re-stamps the project's live mirrored agents as if each had been put again, publishing
   * nothing: the walk could not read the project's agent listing whole (GitLab answered 403 or
   * 5xx), and a partial read must never remove agents (nor, with them, their grants).
   * `kept`: how many were stamped; 0 when the project is not mirrored.
   */
  "mirror.agents.keep": {
    request: z.object({ project_id: Id }),
    result: z.object({ kept: z.number().int().min(0) }),
  },
  /**
   * Removes what no put stamped since `walk_started_at` (a `started_at` that
   * `mirror.walk.begin` answered), under the given root groups (by `traversal_ids`; null:
   * everything mirrored), with the events of a removal; the counts include what went with a
   * removed group. A time later than authz's clock is refused `bad_request`: only
   * `mirror.walk.begin` hands out the cut-off. (The sweep before `mirror.walk.begin` took a
   * `before` of the sync's own clock; such a request is refused `validation_failed`, so a sync
   * of that version sweeps nothing against this authz.)
   */
  "mirror.sweep": {
    request: z.object({ walk_started_at: Time, root_group_ids: z.array(Id).nullable() }),
    result: z.object({
      groups: z.number().int().min(0),
      projects: z.number().int().min(0),
      agents: z.number().int().min(0),
    }),
  },
  /** How much is mirrored, and when a put last stamped anything (null: never). */
  "mirror.status": {
    request: z.object({}),
    result: z.object({
      groups: z.number().int().min(0),
      projects: z.number().int().min(0),
      agents: z.number().int().min(0),
      last_mirrored_at: Time.nullable(),
    }),
  },
} as const;
