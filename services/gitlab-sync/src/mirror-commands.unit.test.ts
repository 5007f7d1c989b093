import { AUTHZ_COMMANDS } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { type AgentConfigFile, agentConfigRequest } from "./mirror-commands.ts";

const MAX_PAYLOAD = 1024 * 1024;
/** 200,000 bytes of file, 1,200,000 of JSON: each control character is escaped as `\u0001`. */
const ESCAPED = "\u0001".repeat(200_000);
const escapedRequestBytes = JSON.stringify({ agent_id: 7, yaml: ESCAPED }).length;

describe("agentConfigRequest", () => {
  it.each<[string, AgentConfigFile, unknown]>([
    ["a file that fits", { kind: "file", yaml: "ci_access: {}\n" }, { agent_id: 7, yaml: "ci_access: {}\n" }],
    ["no file", { kind: "missing" }, { agent_id: 7, yaml: null }],
    [
      "a file over 256 KiB",
      { kind: "oversized", bytes: 300_000 },
      { agent_id: 7, yaml: null, oversized: { bytes: 300_000 } },
    ],
    [
      "a file within 256 KiB whose request is over max_payload",
      { kind: "file", yaml: ESCAPED },
      {
        agent_id: 7,
        yaml: null,
        oversized: { bytes: 200_000, request: { bytes: escapedRequestBytes, max_payload: MAX_PAYLOAD } },
      },
    ],
  ])("sends %s as authz accepts it", (_, file, expected) => {
    const request = agentConfigRequest(7, file, MAX_PAYLOAD);
    expect(request).toEqual(expected);
    expect(AUTHZ_COMMANDS["mirror.agent_config.put"].request.safeParse(request).success).toBe(true);
  });
});
