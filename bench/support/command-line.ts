import { pathToFileURL } from "node:url";

/**
 * `--<name> <value>` from the bench's command line as a positive whole number, `fallback` when
 * absent; anything else stops the bench with a message naming the flag.
 */
export function positiveIntegerArgument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
  return value;
}

/**
 * Runs `main` and exits when the bench module at `moduleUrl` (its `import.meta.url`) is the
 * process's entry point (`npx tsx bench/<name>.bench.ts`); does nothing when `npm run bench`
 * imports it.
 */
export async function runIfEntryPoint(moduleUrl: string, main: () => Promise<void>): Promise<void> {
  if (moduleUrl !== pathToFileURL(process.argv[1] ?? "").href) return;
  await main();
  process.exit(0);
}

/**
 * The machine's own NATS and PostgreSQL, and silent services, unless NATS_URL, DATABASE_URL and
 * LOG_LEVEL say otherwise: what a bench that starts the system reads.
 */
export function useLocalServerDefaults(): void {
  process.env.NATS_URL ??= "nats://127.0.0.1:4222";
  process.env.DATABASE_URL ??= "postgres://postgres@127.0.0.1:5432/postgres";
  process.env.LOG_LEVEL ??= "silent";
}
