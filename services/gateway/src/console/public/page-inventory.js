import { apiCall, projectSegment } from "./api.js";
import { useState } from "./hooks.mjs";
import { ErrorMessage, html, Loading, textOf, useLoad, When } from "./ui.js";

/** Columns the inventory sorts by, each with the value it compares. */
const SORTS = {
  name: { label: "Agent name", key: (/** @type {any} */ a) => a.name },
  project: { label: "Project", key: (/** @type {any} */ a) => a.config_project.path_with_namespace },
  cluster: { label: "Cluster name", key: (/** @type {any} */ a) => a.cluster_info?.cluster_name ?? "" },
  status: {
    label: "Status",
    key: (/** @type {any} */ a) => a.cluster_info?.deployment_status ?? "never_connected",
  },
  last: {
    label: "Last connection (newest first)",
    key: (/** @type {any} */ a) => -(Date.parse(a.cluster_info?.last_connection ?? "") || 0),
  },
};

/** Everything a filter matches in: names, paths, cluster facts and addresses. @param {any} agent */
function searchableText(agent) {
  const info = agent.cluster_info ?? {};
  return [
    agent.name,
    agent.config_project.path_with_namespace,
    info.cluster_name,
    info.platform,
    info.region,
    info.api_endpoint,
    ...(info.node_ips?.internal ?? []),
    ...(info.node_ips?.external ?? []),
    ...(info.pod_cidrs ?? []),
    ...(info.service_cidrs ?? []),
  ]
    .filter(Boolean)
    .join(" ")
    .toLowerCase();
}

/**
 * Every agent of a group and its subgroups that the user may see
 * (`GET /api/v4/groups/:id/cluster_agents?include_subgroups=true&with_cluster_info=true`), by
 * group, with filter, sort and the API's CSV export.
 */
export function InventoryPage({ token, params }) {
  const group = params.get("group") ?? "";
  const [groupText, setGroupText] = useState(group);
  const [filter, setFilter] = useState("");
  const [sort, setSort] = useState("name");
  const [csvError, setCsvError] = useState(/** @type {string | null} */ (null));
  const path = `/api/v4/groups/${projectSegment(group)}/cluster_agents?include_subgroups=true`;
  const agents = useLoad(async () => {
    if (!group) return null;
    return (
      await apiCall(token, "GET", `${path}&with_cluster_info=true&per_page=100`, "load the group's agents")
    ).body;
  }, [token, group]);
  const choose = (/** @type {Event} */ event) => {
    event.preventDefault();
    location.hash = `#/inventory?group=${encodeURIComponent(groupText.trim())}`;
  };
  const downloadCsv = async () => {
    setCsvError(null);
    try {
      const response = await fetch(`${path}&format=csv`, {
        headers: { "private-token": token },
        cache: "no-store",
      });
      if (!response.ok)
        throw new Error(`Could not download the CSV: the server answered ${response.status}.`);
      const link = document.createElement("a");
      link.href = URL.createObjectURL(await response.blob());
      link.download = `kasmap-agents-${group.replace(/[^A-Za-z0-9_-]+/g, "-")}.csv`;
      link.click();
      URL.revokeObjectURL(link.href);
    } catch (error) {
      setCsvError(error instanceof Error ? error.message : String(error));
    }
  };
  const sortKey = SORTS[/** @type {keyof typeof SORTS} */ (sort)].key;
  const shown = (agents.data ?? [])
    .filter((/** @type {any} */ a) => searchableText(a).includes(filter.trim().toLowerCase()))
    .sort((/** @type {any} */ a, /** @type {any} */ b) => {
      const [x, y] = [sortKey(a), sortKey(b)];
      return x < y ? -1 : x > y ? 1 : 0;
    });
  const byNamespace = new Map();
  for (const agent of shown) {
    const namespace = agent.config_project.path_with_namespace.split("/").slice(0, -1).join("/");
    byNamespace.set(namespace, [...(byNamespace.get(namespace) ?? []), agent]);
  }
  const namespaces = [...byNamespace.keys()].sort();
  return html`<section aria-labelledby="inventory-title">
    <h1 id="inventory-title">Inventory</h1>
    <form class="inline" onSubmit=${choose}>
      <label for="group">Group (ID or full path)</label>
      <input id="group" name="group" placeholder="acme" value=${groupText} onInput=${(/** @type {any} */ e) => setGroupText(e.currentTarget.value)} />
      <button type="submit">Show agents</button>
    </form>
    ${!group ? html`<p>Name a group to list every agent in it and its subgroups that you may see.</p>` : null}
    ${agents.loading && group ? html`<${Loading} />` : null}
    <${ErrorMessage} text=${agents.error} />
    ${
      agents.data
        ? html`
      <div class="toolbar">
        <label for="filter">Filter</label>
        <input id="filter" type="search" placeholder="name, cluster, IP…" value=${filter} onInput=${(/** @type {any} */ e) => setFilter(e.currentTarget.value)} />
        <label for="sort">Sort by</label>
        <select id="sort" value=${sort} onChange=${(/** @type {any} */ e) => setSort(e.currentTarget.value)}>
          ${Object.entries(SORTS).map(([value, { label }]) => html`<option value=${value}>${label}</option>`)}
        </select>
        <button type="button" onClick=${downloadCsv}>Download CSV</button>
      </div>
      <${ErrorMessage} text=${csvError} />
      <p role="status">${shown.length} of ${agents.data.length} agents${agents.data.length === 100 ? " (the first 100; the CSV has them all)" : ""}.</p>
      ${namespaces.map(
        (namespace) => html`<section class="group" key=${namespace} aria-label=${`Group ${namespace}`}>
        <h2 class="tree"><span class="depth">${"· ".repeat(namespace.split("/").length - 1)}</span>${namespace}</h2>
        <div class="table-wrap" tabindex="0" role="region" aria-label=${`Agents in ${namespace}`}>
          <table>
            <thead><tr><th scope="col">Agent</th><th scope="col">Cluster</th><th scope="col">Platform / region</th><th scope="col">API endpoint</th>
              <th scope="col">Node IPs</th><th scope="col">Pod / service ranges</th><th scope="col">Status</th><th scope="col">Last connection</th></tr></thead>
            <tbody>${byNamespace.get(namespace).map((/** @type {any} */ agent) => {
              const info = agent.cluster_info;
              return html`<tr key=${agent.id}>
                <th scope="row"><a href=${`#/agents/${agent.config_project.id}/${agent.id}`}>${agent.name}</a><div class="muted small">${agent.config_project.path_with_namespace}</div></th>
                <td>${textOf(info?.cluster_name)}</td>
                <td>${textOf(info?.platform)}${info?.region ? ` / ${info.region}` : ""}</td>
                <td><code>${textOf(info?.api_endpoint)}</code></td>
                <td>${textOf([...(info?.node_ips?.internal ?? []), ...(info?.node_ips?.external ?? [])])}</td>
                <td>${textOf([...(info?.pod_cidrs ?? []), ...(info?.service_cidrs ?? [])])}</td>
                <td><span class=${`status ${info?.deployment_status ?? "never_connected"}`}>${(info?.deployment_status ?? "never_connected").replace("_", " ")}</span></td>
                <td><${When} at=${info?.last_connection} /></td>
              </tr>`;
            })}</tbody>
          </table>
        </div>
      </section>`,
      )}`
        : null
    }
  </section>`;
}
