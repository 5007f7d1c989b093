import { putMirrorBatch } from "../mirror-batch.ts";
import {
  type MirroredNamespaceItem,
  NAMESPACE_BATCH_STEPS,
  putNamespaceItem,
} from "../mirror-namespace-batch.ts";
import type { CommandHandler } from "./command-deps.ts";

type GroupRequest = Parameters<CommandHandler<"mirror.group.put">>[1];

const asNamespace = (request: GroupRequest): MirroredNamespaceItem => ({ ...request, kind: "group" });

/** `mirror.group.put`: a GitLab group, its parent mirrored first (else 404 Group). */
export const putMirroredGroup: CommandHandler<"mirror.group.put"> = (deps, request) =>
  deps.run(null, async (unit) => ({ changed: await putNamespaceItem(unit, asNamespace(request)) }));

/**
 * `mirror.groups.put`: groups as `mirror.group.put` puts each, in request order and one
 * transaction (`putMirrorBatch`); a parent earlier in the batch counts as mirrored first.
 */
export const putMirroredGroups: CommandHandler<"mirror.groups.put"> = (deps, request) =>
  deps.run(null, (unit) => putMirrorBatch(unit, request.groups.map(asNamespace), NAMESPACE_BATCH_STEPS));
