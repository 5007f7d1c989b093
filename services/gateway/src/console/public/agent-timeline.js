import { apiCall, projectSegment } from "./api.js";
import { buildTimeline } from "./timeline.js";
import { ErrorMessage, html, Loading, useLoad, When } from "./ui.js";

const HIGHLIGHT_TEXT = {
  identity: "identity changed",
  endpoint: "endpoint changed",
  ranges: "ranges changed",
};

/**
 * Snapshots and audit events of the agent, newest first, with changes of identity, endpoint or
 * ranges highlighted. Audit events need Maintainer: without it, only snapshots are shown, with a note.
 */
export function AgentTimeline({ token, base, projectId, agentId, round }) {
  const history = useLoad(
    async () =>
      (await apiCall(token, "GET", `${base}/cluster_info/history?per_page=50`, "load the cluster's history"))
        .body,
    [token, base, round],
  );
  const audits = useLoad(
    async () =>
      (
        await apiCall(
          token,
          "GET",
          `/api/v4/-/kasmap/projects/${projectSegment(projectId)}/audit_events?agent_id=${agentId}&per_page=50`,
          "load the agent's audit events",
        )
      ).body,
    [token, projectId, agentId, round],
  );
  const entries = buildTimeline(history.data ?? [], audits.data ?? []);
  return html`<section aria-labelledby="timeline-title">
    <h2 id="timeline-title">Timeline</h2>
    ${history.loading && !history.data ? html`<${Loading} />` : null}
    <${ErrorMessage} text=${history.error} />
    ${audits.error ? html`<p class="muted">${audits.error} Snapshots are shown without audit events.</p>` : null}
    ${entries.length === 0 && !history.loading ? html`<p>Nothing has happened yet.</p>` : null}
    <ol class="timeline">${entries.map(
      (entry) => html`<li key=${entry.key} class=${entry.highlights.length ? "highlight" : ""}>
      <${When} at=${entry.at} /> <span class=${`badge ${entry.source}`}>${entry.source === "audit" ? "audit event" : "snapshot"}</span>
      <span> ${entry.title}</span>
      ${entry.highlights.map((h) => html` <strong class=${`badge change ${h}`}>${HIGHLIGHT_TEXT[h]}</strong>`)}
      ${entry.fields.length ? html`<div class="small muted">fields: ${entry.fields.join(", ")}</div>` : null}
    </li>`,
    )}</ol>
  </section>`;
}
