import { html } from "./ui.js";

/**
 * Agent → cluster → address ranges, as inline SVG (no image requests, nothing for the CSP to
 * allow). Text sits in `<text>` so it scales with the page; the figure has a title for screen readers.
 * @param {{ agentName: string, info: any }} props
 */
export function AgentDiagram({ agentName, info }) {
  const ranges = info
    ? [
        ...(info.node_ips?.internal ?? []).map((/** @type {string} */ ip) => `node ${ip}`),
        ...(info.node_ips?.external ?? []).map((/** @type {string} */ ip) => `node ${ip} (external)`),
        ...(info.pod_cidrs ?? []).map((/** @type {string} */ r) => `pods ${r}`),
        ...(info.service_cidrs ?? []).map((/** @type {string} */ r) => `services ${r}`),
      ].slice(0, 8)
    : [];
  const rowHeight = 26;
  const height = Math.max(110, 30 + ranges.length * rowHeight);
  const middle = height / 2;
  const cluster = info ? `${info.cluster_name ?? "unnamed cluster"} (${info.platform})` : "no snapshot yet";
  const endpoint = info?.api_endpoint ?? "";
  return html`<figure class="diagram">
    <svg viewBox=${`0 0 760 ${height}`} role="img" aria-labelledby="diagram-title">
      <title id="diagram-title">${`Agent ${agentName} points at ${cluster}${ranges.length ? `, which holds ${ranges.join(", ")}` : ""}`}</title>
      <rect class="node" x="4" y=${middle - 24} width="170" height="48" rx="8" />
      <text x="89" y=${middle + 5} text-anchor="middle">${truncate(agentName, 20)}</text>
      <line class="edge" x1="174" y1=${middle} x2="230" y2=${middle} />
      <rect class="node" x="230" y=${middle - 30} width="230" height="60" rx="8" />
      <text x="345" y=${middle - 4} text-anchor="middle">${truncate(cluster, 28)}</text>
      <text class="small" x="345" y=${middle + 16} text-anchor="middle">${truncate(endpoint, 32)}</text>
      ${ranges.map((range, index) => {
        const y = 15 + index * rowHeight + rowHeight / 2;
        return html`<line class="edge" x1="460" y1=${middle} x2="510" y2=${y} />
          <rect class="range" x="510" y=${y - 11} width="244" height="22" rx="4" />
          <text class="small" x="518" y=${y + 4}>${truncate(range, 34)}</text>`;
      })}
    </svg>
    <figcaption class="muted small">Agent → cluster → addresses${ranges.length === 8 ? " (the first 8)" : ""}</figcaption>
  </figure>`;
}

/** @param {string} text @param {number} max */
function truncate(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
