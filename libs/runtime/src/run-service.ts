import { createLogger, type Logger } from "@kasmap/logging";

/**
 * The exit codes of every Kasmap program: 0 done (or stopped by a signal), 1 failed (the fatal
 * path, logged as `{ err }`), 2 wrong usage (bad arguments or environment of a CLI, shown with
 * its usage text).
 */
export const EXIT_CODES = { ok: 0, failed: 1, usage: 2 } as const;
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** What a service's start function returns: one verb that releases everything it holds. */
export type StopHandle = { stop(): Promise<void> };

/** A configuration or argument error of a CLI: exits with `EXIT_CODES.usage` and the usage text. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/**
 * One program: how it reads its configuration (usually `parseEnv(<Service>EnvSchema)`), its log
 * level, and what it runs. `run` returns a `StopHandle` for a long-running service (stopped on
 * SIGINT/SIGTERM), or an exit code for a one-shot CLI.
 */
export type ServiceProgram<Config> = {
  /** The logger's `service` and the prefix of usage errors, e.g. `authz`, `kasmap-verify`. */
  name: string;
  /** Reads argv/env; throw `UsageError` for a CLI's wrong usage, anything else is fatal. */
  config(): Config;
  /** Printed after a `UsageError` (CLIs). */
  usage?: string;
  /** The program's logger; default `createLogger(name, LOG_LEVEL)`. */
  logger?(config: Config): Logger;
  run(config: Config, logger: Logger): Promise<StopHandle | number | undefined>;
  /**
   * The exit code of the fatal path; default `EXIT_CODES.failed`. A CLI whose 1 means an answer
   * (kasmap-verify: "mismatch") exits 2 instead, so "could not check" never reads as one.
   */
  failedExitCode?: ExitCode;
};

/**
 * Runs a program the one way every Kasmap `main.ts` and CLI does: configuration first (a
 * `UsageError` → usage text on stderr, exit 2), then `run`; a service runs until SIGINT or
 * SIGTERM, which calls its stop handle once and exits 0. Anything thrown on the way is the fatal
 * path: `logger.fatal({ err }, "<name> failed")`, exit 1. Start-up retries (NATS, PostgreSQL not
 * there yet) belong to `run` (libs/bus `retryAtStart`), so a restart loop is never needed.
 */
export async function runService<Config>(program: ServiceProgram<Config>): Promise<void> {
  let logger = createLogger(program.name);
  try {
    const config = program.config();
    logger = program.logger?.(config) ?? logger;
    const outcome = await program.run(config, logger);
    if (outcome === undefined || typeof outcome === "number") {
      process.exitCode = outcome ?? EXIT_CODES.ok;
      return;
    }
    stopOnSignal(outcome, logger);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${program.name}: ${error.message}\n${program.usage ? `${program.usage}\n` : ""}`);
      process.exit(EXIT_CODES.usage);
    }
    logger.fatal({ err: error }, `${program.name} failed`);
    process.exit(program.failedExitCode ?? EXIT_CODES.failed);
  }
}

function stopOnSignal(handle: StopHandle, logger: Logger): void {
  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, "stopping");
      handle.stop().then(
        () => process.exit(EXIT_CODES.ok),
        (error: unknown) => {
          logger.fatal({ err: error }, "stop failed");
          process.exit(EXIT_CODES.failed);
        },
      );
    });
  }
}
