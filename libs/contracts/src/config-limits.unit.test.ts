import { describe, expect, it } from "vitest";
import { AGENT_CONFIG_MAX_BYTES, refuseOversizedAgentConfig, utf8ByteLength } from "./agent-config.ts";
import { boundDroppedEntries, type DroppedEntry } from "./authorization.ts";
import { AuthzChangedDataSchema } from "./events.ts";

const entry = (i: number): DroppedEntry => ({
  access: "ci_access",
  target_type: "project",
  path: `g/p${i}`,
  reason: "over-limit",
});
const many = Array.from({ length: 20_000 }, (_, i) => entry(i));
const grants = { ci_access: { projects: [], groups: [] }, user_access: { projects: [], groups: [] } };
const base = { agent_id: 1, config_project_id: 2, cause: "config_changed", grants, added: [], removed: [] };

describe("dropped entries are reported bounded", () => {
  it("keeps the count and the first 100, in order", () => {
    const report = boundDroppedEntries(many);
    expect(report.dropped_count).toBe(20_000);
    expect(report.dropped).toEqual(many.slice(0, 100));
  });

  it("reads an event written before the bound (every entry, no count) as the bounded form", () => {
    const data = AuthzChangedDataSchema.parse({ ...base, dropped: many, actor_user_id: null });
    expect(data.dropped_count).toBe(20_000);
    expect(data.dropped).toHaveLength(100);
  });

  it("refuses a new event listing more than 100 dropped entries", () => {
    const parsed = AuthzChangedDataSchema.safeParse({
      ...base,
      dropped: many.slice(0, 101),
      dropped_count: 101,
      actor_user_id: null,
    });
    expect(parsed.success).toBe(false);
  });
});

describe("the agent config byte limit", () => {
  it("counts UTF-8 bytes, not UTF-16 units", () => {
    expect(utf8ByteLength("a")).toBe(1);
    expect(utf8ByteLength("é")).toBe(2);
    expect(utf8ByteLength("€")).toBe(3);
    expect(utf8ByteLength("😀")).toBe(4);
    expect(utf8ByteLength("\ud800")).toBe(3);
    const text = "ci_access: {} # é€😀\ud800";
    expect(utf8ByteLength(text)).toBe(Buffer.byteLength(text));
  });

  it("accepts a file of exactly the limit and refuses one byte more with 413 naming the limit", () => {
    expect(() => refuseOversizedAgentConfig("x".repeat(AGENT_CONFIG_MAX_BYTES))).not.toThrow();
    expect(() => refuseOversizedAgentConfig(`${"x".repeat(AGENT_CONFIG_MAX_BYTES - 1)}é`)).toThrow(
      expect.objectContaining({
        code: "payload_too_large",
        httpStatus: 413,
        message: expect.stringContaining("262144 bytes"),
      }),
    );
  });
});
