import { lookupQueryString, parseAddressQuery } from "./address-query.js";
import { apiCall } from "./api.js";
import { useState } from "./hooks.mjs";
import { ErrorMessage, html, Loading, textOf, useLoad } from "./ui.js";

/** Which field of the cluster holds a matching address, in words. */
const FIELD_TEXT = {
  "node_ips.external": "node IP (external)",
  "node_ips.internal": "node IP (internal)",
  api_endpoint_ip: "API endpoint",
  api_endpoint_ips: "API endpoint",
  pod_cidrs: "pod range",
  service_cidrs: "service range",
  agent_pod_ip: "agent pod IP",
};

/**
 * The incident responder's first question: which clusters and agents hold this IP address or
 * range, in which field, and who can deploy there (`GET /api/v4/clusters/lookup`).
 */
export function SearchPage({ token, params }) {
  const asked = params.get("q") ?? "";
  const [text, setText] = useState(asked);
  const parsed = asked ? parseAddressQuery(asked) : null;
  const found = useLoad(async () => {
    if (!parsed || parsed.kind === "invalid") return null;
    return (
      await apiCall(
        token,
        "GET",
        `/api/v4/clusters/lookup?${lookupQueryString(parsed)}&per_page=100`,
        "search",
      )
    ).body;
  }, [token, asked]);
  const submit = (/** @type {Event} */ event) => {
    event.preventDefault();
    location.hash = `#/?q=${encodeURIComponent(text.trim())}`;
  };
  return html`<section aria-labelledby="search-title">
    <h1 id="search-title">Who holds this address?</h1>
    <form class="inline" role="search" onSubmit=${submit}>
      <label for="address">IP address or CIDR range</label>
      <input id="address" name="address" inputmode="text" placeholder="52.1.2.3 or 10.0.0.0/16" value=${text}
        onInput=${(/** @type {any} */ e) => setText(e.currentTarget.value)} />
      <button type="submit">Search</button>
    </form>
    ${parsed?.kind === "invalid" ? html`<${ErrorMessage} text=${parsed.message} />` : null}
    ${
      parsed && parsed.kind !== "invalid"
        ? html`
      ${found.loading ? html`<${Loading} label="Searching…" />` : null}
      <${ErrorMessage} text=${found.error} />
      ${found.data ? html`<${Results} entries=${found.data} asked=${asked} />` : null}`
        : null
    }
  </section>`;
}

function Results({ entries, asked }) {
  if (entries.length === 0) {
    return html`<p role="status">No cluster you may see holds ${asked}.</p>`;
  }
  return html`<p role="status">${entries.length === 1 ? "One agent holds" : `${entries.length} agents hold`} ${asked}.</p>
    <ul class="results">${entries.map(
      (entry) => html`<li class="card" key=${entry.agent.id}>
      <h2><a href=${`#/agents/${entry.agent.config_project.id}/${entry.agent.id}`}>${entry.agent.name}</a>
        <span class="muted"> in ${entry.agent.config_project.path_with_namespace}</span></h2>
      <dl class="facts">
        <dt>Cluster</dt><dd>${textOf(entry.cluster.cluster_name)} (${textOf(entry.cluster.platform)}${entry.cluster.region ? `, ${entry.cluster.region}` : ""})</dd>
        <dt>API endpoint</dt><dd><code>${textOf(entry.cluster.api_endpoint)}</code></dd>
        <dt>Matches</dt><dd><ul class="plain">${entry.matches.map((m) => html`<li><code>${m.address}</code> — ${FIELD_TEXT[m.field] ?? m.field}</li>`)}
          ${entry.matches_total > entry.matches.length ? html`<li class="muted">and ${entry.matches_total - entry.matches.length} more</li>` : null}</ul></dd>
        <dt>Who can deploy</dt><dd>${entry.deployable_by.project_count} project${entry.deployable_by.project_count === 1 ? "" : "s"}
          ${entry.deployable_by.groups.length ? html`; groups: ${entry.deployable_by.groups.map((g) => g.full_path).join(", ")}` : null}
          ${entry.deployable_by.projects.length ? html`<ul class="plain">${entry.deployable_by.projects.map((p) => html`<li>${p.path_with_namespace}</li>`)}</ul>` : null}</dd>
      </dl>
    </li>`,
    )}</ul>`;
}
