import { runDatabaseService } from "@kasmap/runtime/database-service";
import {
  collectorLimitsFromEnv,
  ProjectionEnvSchema,
  rebuildReadModel,
  replicaOptionsFromEnv,
  startProjectionService,
} from "./index.ts";

/**
 * `tsx services/projection/src/main.ts [--rebuild]`: runs the projection until SIGTERM or
 * SIGINT. `--rebuild` first empties the read model and replays every stream from the start.
 */
await runDatabaseService({
  name: "projection",
  envSchema: ProjectionEnvSchema,
  start(options, env) {
    const projection = {
      ...options,
      collectorLimits: collectorLimitsFromEnv(env),
      ...replicaOptionsFromEnv(env),
    };
    return process.argv.includes("--rebuild")
      ? rebuildReadModel(projection)
      : startProjectionService(projection);
  },
});
