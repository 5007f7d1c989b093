import { UsageError } from "@kasmap/runtime";

/**
 * `parse` applied to this process's arguments (after node and the script). Whatever it throws
 * becomes a `UsageError` — `node:util`'s `parseArgs` throws a plain `TypeError` for an unknown or
 * malformed option — so `runService` prints the usage text and exits 2 rather than failing.
 */
export function parseProcessArgs<T>(parse: (argv: string[]) => T): T {
  try {
    return parse(process.argv.slice(2));
  } catch (error) {
    throw error instanceof UsageError ? error : new UsageError((error as Error).message, { cause: error });
  }
}
