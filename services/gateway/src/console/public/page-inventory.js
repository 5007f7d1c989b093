import { allPages, projectSegment } from "./api.js";
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

/** A group's agents, its subgroups' included, as the inventory route lists or exports them. @param {string | number} group */
const agentsPath = (group) => `/api/v4/groups/${projectSegment(group)}/cluster_agents?include_subgroups=true`;

/**
 * The groups whose agents the inventory shows: the one named, or every top-level group the user
 * may see (`GET /api/v4/groups?top_level_only=true`: the user's groups and the groups above
 * them), each of which covers its subgroups.
 * @param {string} token @param {string} group
 * @returns {Promise<{ groups: Array<string | number>, complete: boolean }>}
 */
async function inventoryGroups(token, group) {
  if (group) return { groups: [group], complete: true };
  const { items, complete } = await allPages(
    token,
    "/api/v4/groups?top_level_only=true&order_by=path",
    "list your groups",
  );
  return { groups: items.map((/** @type {any} */ g) => g.id), complete };
}

/**
 * Every agent the user may see (Developer+ on its configuration project): of the group named in
 * `?group=`, or of every group the user may see — `GET /api/v4/groups?top_level_only=true`, then
 * `GET /api/v4/groups/:id/cluster_agents?include_subgroups=true&with_cluster_info=true` for each —
 * by group, with filter, sort and the API's CSV export (one file for all the groups).
 */
export function InventoryPage({ token, params }) {
  const group = params.get("group") ?? "";
  const [groupText, setGroupText] = useState(group);
  const [filter, setFilter] = useState("");
  const [sort, setSort] = useState("name");
  const [csvError, setCsvError] = useState(/** @type {string | null} */ (null));
  const agents = useLoad(async () => {
    const { groups, complete } = await inventoryGroups(token, group);
    const seen = new Map();
    let everything = complete;
    for (const id of groups) {
      const listed = await allPages(token, `${agentsPath(id)}&with_cluster_info=true`, "load the agents");
      everything &&= listed.complete;
      for (const agent of listed.items) seen.set(agent.id, agent);
    }
    return { list: [...seen.values()], groups, complete: everything };
  }, [token, group]);
  const choose = (/** @type {Event} */ event) => {
    event.preventDefault();
    const named = groupText.trim();
    location.hash = named ? `#/inventory?group=${encodeURIComponent(named)}` : "#/inventory";
  };
  const downloadCsv = async () => {
    setCsvError(null);
    try {
      let csv = "";
      for (const id of agents.data?.groups ?? []) {
        const response = await fetch(`${agentsPath(id)}&format=csv`, {
          headers: { "private-token": token },
          cache: "no-store",
        });
        if (!response.ok)
          throw new Error(`Could not download the CSV: the server answered ${response.status}.`);
        const text = await response.text();
        // One header record for the whole file: each group's export starts with its own.
        csv += csv === "" ? text : text.slice(text.indexOf("\r\n") + 2);
      }
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
      link.download = `kasmap-agents-${(group || "all").replace(/[^A-Za-z0-9_-]+/g, "-")}.csv`;
      link.click();
      URL.revokeObjectURL(link.href);
    } catch (error) {
      setCsvError(error instanceof Error ? error.message : String(error));
    }
  };
  const sortKey = SORTS[/** @type {keyof typeof SORTS} */ (sort)].key;
  const all = agents.data?.list ?? [];
  const shown = all
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
      <label for="group">Group (ID or full path; empty: all your groups)</label>
      <input id="group" name="group" placeholder="all your groups" value=${groupText} onInput=${(/** @type {any} */ e) => setGroupText(e.currentTarget.value)} />
      <button type="submit">Show agents</button>
    </form>
    <p>${group ? html`Agents of ${group} and its subgroups that you may see. <a href="#/inventory">All your groups</a>` : "Every agent you may see, in all your groups and their subgroups."}</p>
    ${agents.loading ? html`<${Loading} />` : null}
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
      <p role="status">${shown.length} of ${all.length} agents${agents.data.complete ? "" : " (the first pages only; the CSV has them all)"}.</p>
      ${all.length === 0 ? html`<p>${group ? "No agent of this group is yours to see." : "No agent is yours to see: you may read agents of projects where you are a Developer or more."}</p>` : null}
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
