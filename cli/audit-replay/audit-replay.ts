import { connectBus, natsClientAuthFromEnv } from "@kasmap/bus";
import { CommonEnvSchema, parseEnv, topologyFromEnv } from "@kasmap/contracts";
import { EXIT_CODES, runService, UsageError } from "@kasmap/runtime";
import { parseReplayArgs, UsageError as ReplayUsageError, USAGE } from "./audit-replay-args.ts";
import { LineWriter } from "./line-writer.ts";
import { streamAuditLog } from "./replay-audit-log.ts";

/**
 * `npm run audit:replay -- --since 2026-11-01T00:00:00Z [--agent 5] [--until …] [--types …]`:
 * prints the audit log's events as JSON lines (`{stream, seq, stored_at, event}`), oldest first,
 * then exits. Exit codes: 0 done, 2 usage or connection error.
 */
await runService({
  name: "audit-replay",
  usage: USAGE,
  failedExitCode: EXIT_CODES.usage,
  config() {
    try {
      return { command: parseReplayArgs(process.argv.slice(2)), env: parseEnv(CommonEnvSchema) };
    } catch (error) {
      if (!(error instanceof ReplayUsageError)) throw error;
      throw new UsageError(error.message, { cause: error });
    }
  },
  async run({ command, env }) {
    const bus = await connectBus({
      url: env.NATS_URL,
      name: "kasmap-audit-replay",
      topology: topologyFromEnv(env),
      ...natsClientAuthFromEnv(env),
    });
    try {
      // In chunks, honouring a slow pipe rather than buffering everything.
      const output = new LineWriter(process.stdout);
      for await (const line of streamAuditLog(bus, command)) await output.write(JSON.stringify(line));
      await output.end();
    } finally {
      await bus.close();
    }
    return EXIT_CODES.ok;
  },
});
