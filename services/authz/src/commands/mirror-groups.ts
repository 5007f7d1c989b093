import { KasmapError, NOT_FOUND } from "@kasmap/contracts";
import { putMirroredNamespace } from "../mirror-namespaces.ts";
import { findGroup } from "../store/entities.ts";
import type { CommandHandler } from "./command-deps.ts";

/** `mirror.group.put`: a GitLab group, its parent mirrored first (else 404 Group). */
export const putMirroredGroup: CommandHandler<"mirror.group.put"> = (deps, request) =>
  deps.run(null, async (unit) => {
    const parent = request.parent_id === null ? null : await findGroup(unit.tx, request.parent_id);
    if (parent === undefined) throw new KasmapError("not_found", NOT_FOUND.group);
    const changed = await putMirroredNamespace(unit, {
      id: request.id,
      kind: "group",
      name: request.name,
      path: request.path,
      description: request.description,
      parent,
      created_at: request.created_at,
    });
    return { changed };
  });
