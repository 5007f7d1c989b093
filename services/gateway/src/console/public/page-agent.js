import { AgentAuthorization } from "./agent-authorization.js";
import { AgentDiagram } from "./agent-diagram.js";
import { AgentTimeline } from "./agent-timeline.js";
import { apiCall, projectSegment } from "./api.js";
import { useEffect, useState } from "./hooks.mjs";
import { followLive } from "./live.js";
import { provenanceOf } from "./provenance.js";
import { ErrorMessage, html, Loading, textOf, useLoad, When } from "./ui.js";

/** The facts shown, in order, with their labels (the key is also the `sources` key; `node_ips` has one per kind). */
const FIELDS = [
  ["cluster_name", "Cluster name"],
  ["cluster_uid", "Cluster UID (identity)"],
  ["cluster_context", "Cluster context"],
  ["platform", "Platform"],
  ["region", "Region"],
  ["zones", "Zones"],
  ["api_endpoint", "API endpoint"],
  ["api_endpoint_ip", "API endpoint IP"],
  ["api_endpoint_ips", "API server addresses"],
  ["node_ips.internal", "Internal node IPs"],
  ["node_ips.external", "External node IPs"],
  ["node_count", "Nodes"],
  ["pod_cidrs", "Pod ranges"],
  ["service_cidrs", "Service ranges"],
  ["agent_pod_ip", "Agent pod IP"],
  ["agent_namespace", "Agent namespace"],
  ["kubernetes_version", "Kubernetes version"],
];

/** A field's value as text; `a.b` reads a nested value (`node_ips.internal`). @param {string} field @param {any} info */
function valueText(field, info) {
  const value = field.split(".").reduce((object, key) => object?.[key], info);
  if (field === "kubernetes_version" && value) return value.git_version;
  return textOf(value);
}

/** Events that change what this page shows: reload on them. */
const RELOAD_ON = new Set([
  "io.kasmap.cluster.snapshot.v1",
  "io.kasmap.cluster.heartbeat.v1",
  "io.kasmap.authz.changed.v1",
  "io.kasmap.registry.agent.changed.v1",
  "io.kasmap.alert.cluster_changed.v1",
  "io.kasmap.alert.cluster_conflict.v1",
]);

/**
 * One agent: its cluster_info with each value's provenance, a diagram, its connections, who may
 * use it, its timeline, "as it was at" a date, and live updates over the event stream.
 */
export function AgentPage({ token, projectId, agentId, at }) {
  const base = `/api/v4/projects/${projectSegment(projectId)}/cluster_agents/${agentId}`;
  const [live, setLive] = useState({ state: "connecting", why: "" });
  const [recent, setRecent] = useState(/** @type {Array<{ key: string, text: string }>} */ ([]));
  const [round, setRound] = useState(0);
  const agent = useLoad(
    async () => (await apiCall(token, "GET", `${base}?with_cluster_info=true`, "load the agent")).body,
    [token, base, round],
  );
  const past = useLoad(async () => {
    if (!at) return null;
    return (
      await apiCall(
        token,
        "GET",
        `${base}/cluster_info?at=${encodeURIComponent(at)}`,
        "load the cluster as it was then",
      )
    ).body;
  }, [token, base, at]);
  useEffect(() => {
    // Events sent while the stream was down are not replayed to a new ticket: read the agent again.
    let missedEvents = false;
    return followLive({
      token,
      agentId,
      onState: (state, why) => {
        setLive({ state, why: why ?? "" });
        if (state === "retrying") missedEvents = true;
        if (state === "live" && missedEvents) {
          missedEvents = false;
          setRound((n) => n + 1);
        }
      },
      onEvent: ({ type, data }) => {
        const text = `${new Date().toLocaleTimeString()}: ${describeEvent(type, data)}`;
        setRecent((list) => [{ key: `${Date.now()}-${list.length}`, text }, ...list].slice(0, 5));
        if (RELOAD_ON.has(type)) setRound((n) => n + 1);
      },
    });
  }, [token, agentId]);
  if (agent.loading && !agent.data) return html`<${Loading} label="Loading the agent…" />`;
  if (agent.error && !agent.data) return html`<h1>Agent</h1><${ErrorMessage} text=${agent.error} />`;
  const body = agent.data;
  const info = at ? past.data : body.cluster_info;
  return html`<article aria-labelledby="agent-title">
    <h1 id="agent-title">${body.name} <span class="muted">in ${body.config_project.path_with_namespace}</span></h1>
    <${LiveState} live=${live} status=${body.cluster_info?.deployment_status} />
    ${recent.length ? html`<section aria-label="Live events"><ul class="plain live-events">${recent.map((r) => html`<li key=${r.key}>${r.text}</li>`)}</ul></section>` : null}
    <p><a href=${`#/verify/${body.config_project.id}/${body.id}`}>Verify this agent's ranges</a></p>
    <${AtPicker} projectId=${projectId} agentId=${agentId} at=${at} />
    ${at && past.loading ? html`<${Loading} />` : null}
    <${ErrorMessage} text=${at ? past.error : null} />
    <${AgentDiagram} agentName=${body.name} info=${info} />
    <section aria-labelledby="info-title">
      <h2 id="info-title">Cluster info${at ? " then" : ""}</h2>
      ${
        info
          ? html`<p class="muted">Observed <${When} at=${info.observed_at} />${info.last_connection ? html`; last connection <${When} at=${info.last_connection} />` : null}</p>
        <div class="table-wrap" tabindex="0" role="region" aria-label="Cluster info values and where they came from"><table class="info">
          <thead><tr><th scope="col">Value</th><th scope="col">Reported</th><th scope="col">Where it came from</th></tr></thead>
          <tbody>${FIELDS.filter(([field]) => field.split(".")[0] in info).map(([field, label]) => {
            const provenance = provenanceOf(field, info.sources);
            return html`<tr key=${field}><th scope="row">${label}</th><td><code>${valueText(field, info)}</code></td>
              <td><span class=${`badge ${provenance.kind}`}>${provenance.label}</span> <span class="small">${provenance.sentence}</span></td></tr>`;
          })}</tbody>
        </table></div>`
          : html`<p>${at ? "No snapshot existed at that time." : "The agent's collector has not reported yet."}</p>`
      }
    </section>
    ${at ? null : html`<${Connections} connections=${body.cluster_info?.connections ?? []} />`}
    <${AgentAuthorization} token=${token} agent=${body} round=${round} />
    <${AgentTimeline} token=${token} base=${base} projectId=${body.config_project.id} agentId=${body.id} round=${round} />
  </article>`;
}

/** @param {string} type @param {any} data */
function describeEvent(type, data) {
  if (type === "io.kasmap.cluster.snapshot.v1") return "a new cluster snapshot arrived";
  if (type === "io.kasmap.cluster.heartbeat.v1")
    return `heartbeat from ${data?.data?.collector_id ?? "a collector"}`;
  if (type.startsWith("io.kasmap.alert.")) return "alert: the cluster identity changed or conflicts";
  return type.replace(/^io\.kasmap\./, "").replace(/\.v\d+$/, "");
}

function LiveState({ live, status }) {
  const label =
    live.state === "live"
      ? "Live: updates appear as they happen"
      : live.state === "connecting"
        ? "Connecting to live updates…"
        : "Disconnected, retrying…";
  return html`<p class=${`live ${live.state}`} role="status" aria-live="polite">
    <span class=${`status ${status ?? "never_connected"}`}>${(status ?? "never_connected").replace("_", " ")}</span>
    <span class="live-label">${label}</span>${live.state === "retrying" && live.why ? html` <span class="small muted">${live.why}</span>` : null}
  </p>`;
}

function AtPicker({ projectId, agentId, at }) {
  const [value, setValue] = useState(at ? toLocalInput(at) : "");
  const show = (/** @type {Event} */ event) => {
    event.preventDefault();
    if (!value) return;
    location.hash = `#/agents/${projectId}/${agentId}?at=${encodeURIComponent(new Date(value).toISOString())}`;
  };
  return html`<form class="inline at" onSubmit=${show}>
    <label for="at">What was it on</label>
    <input id="at" type="datetime-local" value=${value} onInput=${(/** @type {any} */ e) => setValue(e.currentTarget.value)} />
    <button type="submit">Show</button>
    ${at ? html`<a href=${`#/agents/${projectId}/${agentId}`}>Back to now</a>` : null}
    ${at ? html`<p class="notice">Showing the cluster as it was at <${When} at=${at} />.</p>` : null}
  </form>`;
}

/** An ISO time as a `datetime-local` value in the reader's time zone. @param {string} iso */
function toLocalInput(iso) {
  const date = new Date(iso);
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

function Connections({ connections }) {
  return html`<section aria-labelledby="connections-title">
    <h2 id="connections-title">Connections</h2>
    ${
      connections.length === 0
        ? html`<p>No collector is connected now.</p>`
        : html`<div class="table-wrap" tabindex="0" role="region" aria-label="Connected collectors"><table>
      <thead><tr><th scope="col">Collector</th><th scope="col">Pod</th><th scope="col">Node</th><th scope="col">Version</th><th scope="col">Connected</th><th scope="col">Last heartbeat</th></tr></thead>
      <tbody>${connections.map(
        (/** @type {any} */ c) => html`<tr key=${c.collector_id}><th scope="row">${c.collector_id}</th>
        <td>${textOf(c.namespace ? `${c.namespace}/${c.pod_name ?? "?"}` : c.pod_name)}${c.pod_ip ? ` (${c.pod_ip})` : ""}</td><td>${textOf(c.node)}</td>
        <td>${textOf(c.version)}</td><td><${When} at=${c.connected_at} /></td><td><${When} at=${c.last_heartbeat_at} /></td></tr>`,
      )}</tbody>
    </table></div>`
    }
  </section>`;
}
