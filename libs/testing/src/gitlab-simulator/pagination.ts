/** GitLab's offset pagination: `page`/`per_page` in, `x-*` and `Link` headers out. */

/** GitLab omits `x-total` and `x-total-pages` above this many rows. */
export const TOTAL_HEADER_LIMIT = 10_000;
export const MAX_PER_PAGE = 100;

export interface PageSlice<T> {
  items: T[];
  headers: Record<string, string>;
}

export function paginate<T>(all: readonly T[], requestUrl: URL): PageSlice<T> {
  const perPage = clamp(positiveInt(requestUrl.searchParams.get("per_page")) ?? 20, 1, MAX_PER_PAGE);
  const page = positiveInt(requestUrl.searchParams.get("page")) ?? 1;
  const start = (page - 1) * perPage;
  const items = all.slice(start, start + perPage);
  const totalPages = Math.max(1, Math.ceil(all.length / perPage));
  const hasNext = start + perPage < all.length;
  const hasPrev = page > 1;
  const pageUrl = (target: number): string => {
    const url = new URL(requestUrl);
    url.searchParams.set("page", String(target));
    url.searchParams.set("per_page", String(perPage));
    return url.toString();
  };
  const totalKnown = all.length <= TOTAL_HEADER_LIMIT;
  const links = [
    ...(hasPrev ? [`<${pageUrl(page - 1)}>; rel="prev"`] : []),
    ...(hasNext ? [`<${pageUrl(page + 1)}>; rel="next"`] : []),
    `<${pageUrl(1)}>; rel="first"`,
    ...(totalKnown ? [`<${pageUrl(totalPages)}>; rel="last"`] : []),
  ];
  const headers: Record<string, string> = {
    "x-page": String(page),
    "x-per-page": String(perPage),
    "x-next-page": hasNext ? String(page + 1) : "",
    "x-prev-page": hasPrev ? String(page - 1) : "",
    link: links.join(", "),
  };
  if (totalKnown) {
    headers["x-total"] = String(all.length);
    headers["x-total-pages"] = String(totalPages);
  }
  return { items, headers };
}

function positiveInt(value: string | null): number | null {
  if (value === null) return null;
  const parsed = Number.parseInt(value, 10);
  return Number.isFinite(parsed) && parsed > 0 ? parsed : null;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
