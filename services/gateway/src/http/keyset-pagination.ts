import { KasmapError } from "@kasmap/contracts";
import { invalidParams } from "./request-params.ts";

/** One keyset page: at most `perPage` items with an id below `beforeId` (all when null). */
export type KeysetPageRequest = { readonly perPage: number; readonly beforeId: number | null };

/** The parameters GitLab's cursor-based keyset pagination reads (`pagination_strategies.rb`). */
export type KeysetQuery = {
  pagination?: string | undefined;
  order_by?: string | undefined;
  sort?: string | undefined;
  cursor?: string | undefined;
  per_page: number;
};

/**
 * GitLab's message when keyset pagination is asked with an order the resource does not page by
 * (`lib/api/helpers/pagination_strategies.rb`), answered `405 {"error": …}`.
 */
export const KEYSET_UNAVAILABLE = "Keyset pagination is not yet available for this type of request";

/**
 * The keyset page `query` asks for, or null for offset pagination (`pagination` other than
 * `keyset`, as GitLab reads it). Audit events page by `id desc` only
 * (`lib/gitlab/pagination/cursor_based_keyset.rb`, `SUPPORTED_ORDERING`); `order_by` and `sort`
 * default to that, anything else is GitLab's 405. A cursor that is not one Kasmap wrote answers
 * `400 {"error":"cursor is invalid"}` (GitLab fails with a 500 on it).
 */
export function keysetPageOf(query: KeysetQuery): KeysetPageRequest | null {
  if (query.pagination !== "keyset") return null;
  if ((query.order_by ?? "id") !== "id" || (query.sort ?? "desc") !== "desc") {
    throw new KasmapError("method_not_allowed", KEYSET_UNAVAILABLE);
  }
  const cursor = query.cursor ?? "";
  return { perPage: query.per_page, beforeId: cursor === "" ? null : idOfCursor(cursor) };
}

/**
 * GitLab's cursor for the page after the item `lastId` (`Gitlab::Pagination::Keyset::Paginator`):
 * URL-safe Base64 with padding of `{"id":"<lastId>","_kd":"n"}` (`_kd`: keyset direction, next).
 */
export function cursorAfter(lastId: number): string {
  // Ruby's `Base64.urlsafe_encode64` pads; Node's `base64url` does not.
  const unpadded = Buffer.from(JSON.stringify({ id: String(lastId), _kd: "n" })).toString("base64url");
  return unpadded.padEnd(Math.ceil(unpadded.length / 4) * 4, "=");
}

function idOfCursor(cursor: string): number {
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(cursor)) throw invalidParams(["cursor is invalid"]);
  let attributes: unknown;
  try {
    attributes = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw invalidParams(["cursor is invalid"]);
  }
  const { id, _kd } = (attributes ?? {}) as { id?: unknown; _kd?: unknown };
  const value = typeof id === "string" || typeof id === "number" ? String(id) : "";
  // Only forward cursors: Kasmap's `Link` never offers a previous page.
  if (!/^\d{1,15}$/.test(value) || (_kd !== undefined && _kd !== "n")) {
    throw invalidParams(["cursor is invalid"]);
  }
  return Number(value);
}

/**
 * GitLab's keyset headers (`lib/gitlab/pagination/keyset/header_builder.rb`): only
 * `Link: <request URL with cursor=…>; rel="next"` when a next page exists, nothing otherwise —
 * no `x-total`, `x-page` or `x-next-page`.
 */
export function keysetHeaders(
  requestUrl: URL,
  request: KeysetPageRequest,
  nextAfterId: number | null,
): Record<string, string> {
  if (nextAfterId === null) return {};
  const url = new URL(requestUrl.toString());
  url.searchParams.set("cursor", cursorAfter(nextAfterId));
  url.searchParams.set("per_page", String(request.perPage));
  url.searchParams.delete("page");
  return { link: `<${url.toString()}>; rel="next"` };
}
