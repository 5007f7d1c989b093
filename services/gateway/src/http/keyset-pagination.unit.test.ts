import { isKasmapError } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { cursorAfter, KEYSET_UNAVAILABLE, keysetHeaders, keysetPageOf } from "./keyset-pagination.ts";

describe("keysetPageOf", () => {
  it("is null (offset pagination) unless pagination=keyset", () => {
    expect(keysetPageOf({ per_page: 20 })).toBeNull();
    expect(keysetPageOf({ pagination: "offset", order_by: "created_at", per_page: 20 })).toBeNull();
  });

  it("reads GitLab's id-desc order, explicit or default, and the cursor it wrote", () => {
    expect(keysetPageOf({ pagination: "keyset", per_page: 5 })).toEqual({ perPage: 5, beforeId: null });
    expect(
      keysetPageOf({
        pagination: "keyset",
        order_by: "id",
        sort: "desc",
        cursor: cursorAfter(42),
        per_page: 5,
      }),
    ).toEqual({ perPage: 5, beforeId: 42 });
  });

  it.each([[{ order_by: "created_at" }], [{ sort: "asc" }], [{ order_by: "id", sort: "asc" }]])(
    "answers GitLab's 405 to another order: %o",
    (order) => {
      const attempt = () => keysetPageOf({ pagination: "keyset", per_page: 5, ...order });
      expect(attempt).toThrow(KEYSET_UNAVAILABLE);
      try {
        attempt();
      } catch (error) {
        expect(isKasmapError(error, "method_not_allowed")).toBe(true);
      }
    },
  );

  it.each([
    "not base64!",
    Buffer.from("not json").toString("base64url"),
    Buffer.from(JSON.stringify({ id: "abc", _kd: "n" })).toString("base64url"),
    Buffer.from(JSON.stringify({ id: "5", _kd: "p" })).toString("base64url"),
  ])("refuses a cursor Kasmap did not write (%s) with 400 cursor is invalid", (cursor) => {
    try {
      keysetPageOf({ pagination: "keyset", cursor, per_page: 5 });
      expect.unreachable();
    } catch (error) {
      expect(isKasmapError(error, "invalid_params")).toBe(true);
      expect((error as Error).message).toBe("cursor is invalid");
    }
  });
});

describe("cursorAfter", () => {
  it("is GitLab's padded URL-safe Base64 of {id, _kd: n}", () => {
    const cursor = cursorAfter(7);
    expect(cursor.length % 4).toBe(0);
    expect(JSON.parse(Buffer.from(cursor, "base64url").toString())).toEqual({ id: "7", _kd: "n" });
  });
});

describe("keysetHeaders", () => {
  const url = new URL("https://kasmap.example/api/v4/audit_events?pagination=keyset&per_page=2&page=3");

  it("links the next page with the cursor and the request's parameters, and nothing else", () => {
    const headers = keysetHeaders(url, { perPage: 2, beforeId: null }, 10);
    expect(Object.keys(headers)).toEqual(["link"]);
    const match = /^<(.+)>; rel="next"$/.exec(headers.link ?? "");
    const next = new URL(match?.[1] ?? "");
    expect(next.pathname).toBe("/api/v4/audit_events");
    expect(next.searchParams.get("pagination")).toBe("keyset");
    expect(next.searchParams.get("per_page")).toBe("2");
    expect(next.searchParams.get("cursor")).toBe(cursorAfter(10));
    expect(next.searchParams.has("page")).toBe(false);
  });

  it("sends no header on the last page", () => {
    expect(keysetHeaders(url, { perPage: 2, beforeId: 5 }, null)).toEqual({});
  });
});
