import { type ExecFileOptions, execFile } from "node:child_process";
import { promisify } from "node:util";
import type { KasmapSystem } from "@kasmap/testing/system";

/**
 * Issue 10 drives Kasmap with GitLab clients from other languages, each installed from Debian
 * (`.ci/run` installs them) and run by a small driver program under `test/e2e/clients/`.
 */
const run = promisify(execFile);

/** GitLab's message for an invalid agent name (a model error through `bad_request!`), as sent. */
export const INVALID_AGENT_NAME_MESSAGE =
  "400 Bad request - [\"Name can contain only lowercase letters, digits, and '-', but cannot start or end with '-'\"]";

/**
 * What `command args` prints, trimmed (a client's version, a driver's build). When it fails the
 * error names the Debian packages that provide the client: these tests fail, never skip.
 */
export async function debianClientOutput(
  packages: string[],
  command: string,
  args: string[],
  options: ExecFileOptions = {},
): Promise<string> {
  try {
    const { stdout } = await run(command, args, options);
    return String(stdout).trim();
  } catch (error) {
    const install = packages.join(" ");
    throw new Error(
      `the GitLab client from Debian's ${install} is missing or broken for ${command}: apt-get install -y ${install} (.ci/run does) — ${String(error)}`,
    );
  }
}

/**
 * Runs a driver against the system's gateway (`KASMAP_URL`, `KASMAP_TOKEN`: the admin's token)
 * and parses the one JSON object it prints: what the client saw.
 */
export async function seenByClient(
  system: KasmapSystem,
  command: string,
  args: string[] = [],
): Promise<Record<string, unknown>> {
  const { stdout } = await run(command, args, {
    env: { ...process.env, KASMAP_URL: system.gatewayUrl, KASMAP_TOKEN: system.adminToken },
    timeout: 120_000,
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}
