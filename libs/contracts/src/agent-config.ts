import { z } from "zod";
import {
  CiAccessConfigSchema,
  ConfigRefusalSchema,
  DROPPED_ENTRIES_REPORTED,
  DroppedEntrySchema,
  UserAccessAsSchema,
} from "./authorization.ts";
import { KasmapError } from "./errors.ts";

/**
 * The authorization part of `.gitlab/agents/<name>/config.yaml`, as GitLab reads it.
 *
 * Unknown keys are stripped, never rejected: the file is agentk's whole configuration (`gitops`,
 * `observability`, `remote_development`, …) and GitLab/KAS discard what they don't know. Inside
 * `ci_access`/`user_access` entries `@kasmap/access-rules`'s parser reports stripped keys as warnings, because
 * there a typo (`enviroments`) silently widens access. `access_as` stays strict (from
 * authorization.ts): an unknown or doubled access mode must fail closed, as KAS's oneof does.
 */

/** GitLab's limit: only the first 500 `projects` and the first 500 `groups` of a list count. */
export const AGENT_CONFIG_ENTITY_LIMIT = 500;

/**
 * Largest agent config file accepted, in UTF-8 bytes: 256 KiB. GitLab's KAS refuses files over
 * `agent.limits.max_configuration_file_size` (default 128 KiB); Kasmap takes twice that, so any
 * file a default KAS reads is accepted here. The limit keeps the command, its reply and its
 * event far below NATS `max_payload` (1 MiB by default) and bounds the entries a file can list
 * (about 25,000 at the shortest), so also the rows one statement writes. Over it: `413`.
 */
export const AGENT_CONFIG_MAX_BYTES = 256 * 1024;

/**
 * How many problems of a refused config are reported (the first ones, in file order), and how
 * many dropped entries replies, events and audit rows list; the rest are only counted.
 */
export const AGENT_CONFIG_ISSUES_REPORTED = 100;

/**
 * Refuses a config over {@link AGENT_CONFIG_MAX_BYTES} with `payload_too_large` (HTTP 413) naming
 * the limit. The gateway calls it before forwarding and authz again (it trusts no caller).
 */
export function refuseOversizedAgentConfig(yaml: string): void {
  const bytes = utf8ByteLength(yaml);
  if (bytes <= AGENT_CONFIG_MAX_BYTES) return;
  throw new KasmapError(
    "payload_too_large",
    `agent configuration is ${bytes} bytes; the limit is ${AGENT_CONFIG_MAX_BYTES} bytes (256 KiB)`,
  );
}

/** UTF-8 length of `text` without encoding it (lone surrogates count as U+FFFD, 3 bytes). */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/** The access modes `ci_access.*.access_as` and `user_access.access_as` accept, for messages. */
export const CI_ACCESS_AS_MODES = ["agent", "impersonate", "ci_job", "ci_user"] as const;
export const USER_ACCESS_AS_MODES = ["agent", "user"] as const;

/** A full path (`group/subgroup/project`), matched case-insensitively against the registry. */
const FullPathSchema = z.string().min(1, "must be a full path such as group/project");

/** `key:` with nothing after it is YAML null; GitLab treats it like an absent key. */
const nullAsAbsent = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === null ? undefined : value), schema.optional());

export const CiAccessEntrySchema = z.object({ id: FullPathSchema, ...CiAccessConfigSchema.shape });
export type CiAccessEntry = z.infer<typeof CiAccessEntrySchema>;

export const UserAccessEntrySchema = z.object({ id: FullPathSchema });
export type UserAccessEntry = z.infer<typeof UserAccessEntrySchema>;

export const CiAccessSectionSchema = z.object({
  projects: nullAsAbsent(z.array(CiAccessEntrySchema)),
  groups: nullAsAbsent(z.array(CiAccessEntrySchema)),
});

export const UserAccessSectionSchema = z.object({
  access_as: UserAccessAsSchema,
  projects: nullAsAbsent(z.array(UserAccessEntrySchema)),
  groups: nullAsAbsent(z.array(UserAccessEntrySchema)),
});

export const AgentConfigSchema = z.object({
  ci_access: nullAsAbsent(CiAccessSectionSchema),
  user_access: nullAsAbsent(UserAccessSectionSchema),
});
export type AgentConfig = z.infer<typeof AgentConfigSchema>;

/** What `agent_config.put` (and `mirror.agent_config.put`) answer: the counts in force and what was dropped. */
export const AgentConfigPutResultSchema = z.object({
  agent_id: z.number().int().positive(),
  /** Entries stored (in force), per section and list. */
  ci_access: z.object({ projects: z.number().int(), groups: z.number().int() }),
  user_access: z.object({ projects: z.number().int(), groups: z.number().int() }),
  /** How many entries were not stored in all. */
  dropped_count: z.number().int().nonnegative(),
  /** The first 100 of them, in config order, with the reason. */
  dropped: z.array(DroppedEntrySchema).max(DROPPED_ENTRIES_REPORTED),
  /** Only with `on_refusal: record`, when the file was refused: why; the counts above are the previous config's. */
  refusal: ConfigRefusalSchema.optional(),
});
