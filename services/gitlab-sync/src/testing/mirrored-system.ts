import { createDatabase, type ReadModelDatabase } from "@kasmap/db";
import type { GitLabSimulator } from "@kasmap/testing/gitlab-simulator";
import { type KasmapSystem, startKasmapSystem } from "@kasmap/testing/system";
import type { Kysely } from "kysely";
import type { GitLabSync } from "../index.ts";

export type MirroredSystem = {
  system: KasmapSystem;
  /** The system's read model, for checking what the mirror put there. */
  readModel: Kysely<ReadModelDatabase>;
  /** The running sync service (the system is in GitLab mode). */
  sync(): GitLabSync;
  stop(): Promise<void>;
};

/**
 * The whole system in GitLab mode beside `gitlab`: the sync reads with an admin's token and
 * mirrors `root-group`, reconciles only when a test asks (`reconcileNow`), and receives the
 * simulator's system hooks with `hookSecret`; plus a connection to its read model.
 */
export async function startMirroredSystem(
  gitlab: GitLabSimulator,
  options: { hookSecret: string; applicationName: string },
): Promise<MirroredSystem> {
  const admin = gitlab.addUser({ username: "sync-admin", is_admin: true });
  const system = await startKasmapSystem({
    gitlab: {
      url: gitlab.url,
      token: gitlab.addToken(admin.id),
      rootGroups: ["root-group"],
      hookSecret: options.hookSecret,
      // Long: every reconcile is asked for (reconcileNow), so each test knows when.
      reconcileSeconds: 3600,
    },
  });
  gitlab.addSystemHook(`${system.gatewayUrl}/api/v4/-/gitlab/hooks`, options.hookSecret);
  const readModel = createDatabase<ReadModelDatabase>({
    url: system.databaseUrl,
    max: 2,
    applicationName: options.applicationName,
  });
  return {
    system,
    readModel,
    sync() {
      if (!system.sync) throw new Error("the system runs without GitLab mode");
      return system.sync;
    },
    async stop() {
      await readModel.destroy();
      await system.stop();
    },
  };
}
