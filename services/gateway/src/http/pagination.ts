/** One page of an offset-paginated list, as GitLab's `page`/`per_page` select it. */
export type PageRequest = { readonly page: number; readonly perPage: number };

/** SQL `offset` of a page (pages start at 1). */
export function pageOffset(request: PageRequest): number {
  return (request.page - 1) * request.perPage;
}

/**
 * GitLab's pagination headers (`lib/gitlab/pagination/offset_pagination.rb`): `x-page`,
 * `x-per-page`, `x-next-page` and `x-prev-page` (empty when there is none: Kaminari has no
 * previous page past the last one either), `x-total`,
 * `x-total-pages` (at least 1, as GitLab reports for an empty list) and `Link` with
 * `rel="prev"`, `rel="next"`, `rel="first"`, `rel="last"`, each the request URL with `page` and
 * `per_page` replaced, in that order.
 */
export function paginationHeaders(
  requestUrl: URL,
  request: PageRequest,
  total: number,
): Record<string, string> {
  const totalPages = Math.max(1, Math.ceil(total / request.perPage));
  const next = request.page < totalPages ? request.page + 1 : null;
  // Kaminari's `prev_page`: none on the first page nor past the last (`out_of_range?`).
  const prev = request.page > 1 && request.page <= totalPages ? request.page - 1 : null;
  const pageUrl = (page: number): string => {
    const url = new URL(requestUrl.toString());
    url.searchParams.set("page", String(page));
    url.searchParams.set("per_page", String(request.perPage));
    return url.toString();
  };
  const links: string[] = [];
  if (prev !== null) links.push(`<${pageUrl(prev)}>; rel="prev"`);
  if (next !== null) links.push(`<${pageUrl(next)}>; rel="next"`);
  links.push(`<${pageUrl(1)}>; rel="first"`);
  links.push(`<${pageUrl(totalPages)}>; rel="last"`);
  return {
    "x-page": String(request.page),
    "x-per-page": String(request.perPage),
    "x-next-page": next === null ? "" : String(next),
    "x-prev-page": prev === null ? "" : String(prev),
    "x-total": String(total),
    "x-total-pages": String(totalPages),
    link: links.join(", "),
  };
}
