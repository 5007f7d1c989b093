import { z } from "zod";
import { AgentConfigPutResultSchema } from "./agent-config.ts";
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

export const MIRROR_COMMANDS = {
  /** A group; its parent must have been mirrored first (else `not_found` Group). */
  "mirror.group.put": {
    request: z.object({
      id: Id,
      name: Name,
      path: PathSchema,
      description: z.string().nullable(),
      parent_id: Id.nullable(),
      created_at: Time,
    }),
    result: Changed,
  },
  /**
   * A project in a group (mirrored first) or in a user's personal namespace, which is created or
   * renamed here with GitLab's namespace id (`kind: "user"`, `owner_id: null`: GitLab's users
   * are not mirrored).
   */
  "mirror.project.put": {
    request: z.object({
      id: Id,
      name: Name,
      path: PathSchema,
      description: z.string().nullable(),
      namespace: z.object({ id: Id, kind: NamespaceKindSchema, path: PathSchema, name: Name }),
      created_at: Time,
    }),
    result: Changed,
  },
  "mirror.agent.put": {
    request: z.object({ id: Id, project_id: Id, name: AgentNameSchema, created_at: Time }),
    result: Changed,
  },
  /**
   * The agent's `.gitlab/agents/<name>/config.yaml` on the default branch; `null`: no file,
   * read as `{}`. A refused file is recorded (`on_refusal: "record"`). The same content as the
   * last one mirrored (accepted or refused) publishes nothing; the reply then carries the
   * counts in force and no `refusal`.
   */
  "mirror.agent_config.put": {
    request: z.object({ agent_id: Id, yaml: z.string().nullable() }),
    result: AgentConfigPutResultSchema,
  },
  /** Removes one mirrored thing; a group takes its subtree. `removed: false` when it was not there. */
  "mirror.remove": {
    request: z.object({ kind: z.enum(["group", "project", "agent"]), id: Id }),
    result: z.object({ removed: z.boolean() }),
  },
  /**
   * Removes what no put stamped since `before`, under the given root groups (by
   * `traversal_ids`; null: everything mirrored), with the events of a removal; the counts
   * include what went with a removed group.
   */
  "mirror.sweep": {
    request: z.object({ before: Time, root_group_ids: z.array(Id).nullable() }),
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
