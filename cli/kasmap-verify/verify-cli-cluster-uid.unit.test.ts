import { describe, expect, it } from "vitest";
import { parseVerifyArgs, USAGE } from "./verify-cli-args.ts";

describe("kasmap-verify --expect-cluster-uid", () => {
  it("expects the agent's cluster_uid, so a CI job can refuse a moved agent", () => {
    const uid = "3f1e5c2a-1111-4a6b-9c7d-000000000001";
    expect(parseVerifyArgs(["--agent", "5", "--expect-cluster-uid", uid]).expectations).toEqual({
      cluster_uid: uid,
    });
    expect(USAGE).toContain("--expect-cluster-uid");
  });
});
