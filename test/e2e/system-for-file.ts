import { resourceForFile } from "@kasmap/testing/resource-for-file";
import { type KasmapSystem, type KasmapSystemOptions, startKasmapSystem } from "@kasmap/testing/system";

export { agentWithToken, groupWithProject, userWithToken } from "./registry-through-api.ts";

/**
 * The Kasmap system one end-to-end file runs against: started before the file's own `beforeAll`
 * hooks (it registers first) and stopped after its `afterAll` hooks (vitest runs those in
 * reverse). The answer is filled in when the system starts, so a file's helpers take it as they
 * take any `KasmapSystem`; read it inside hooks and tests, never at import time (it is empty then).
 */
export function kasmapSystemForFile(options: KasmapSystemOptions = {}): KasmapSystem {
  return resourceForFile(
    () => startKasmapSystem(options),
    (system) => system.stop(),
  );
}
