import { apiCall, projectSegment } from "./api.js";
import { useState } from "./hooks.mjs";
import { ErrorMessage, html, Loading, useLoad } from "./ui.js";

/** How a project was granted the agent (`rule` of the explain route), in words. */
const RULE_TEXT = {
  implicit_config_project: "it is the agent's configuration project",
  explicit_project: "the agent's ci_access names the project",
  group: "the agent's ci_access names a group the project is in",
};

/** Why a configuration entry was dropped (`DroppedEntrySchema` in libs/contracts), in words. */
const DROP_REASON_TEXT = {
  "not-found": "no such project or group",
  "outside-root-group": "outside the agent's top-level group",
  "over-limit": "over the number of entries GitLab reads",
};

/**
 * Who may use the agent: the projects and groups of its `ci_access` as the caller may see them
 * (`GET …/cluster_agents/:agent_id/deployable_by`), why one project may or may not (`…/authorization/explain`),
 * and the configuration entries Kasmap dropped (the newest `cluster_agent_authorization_changed` audit event).
 */
export function AgentAuthorization({ token, agent, round }) {
  const deployable = useLoad(
    async () =>
      (
        await apiCall(
          token,
          "GET",
          `/api/v4/projects/${projectSegment(agent.config_project.id)}/cluster_agents/${agent.id}/deployable_by`,
          "find who can deploy",
        )
      ).body,
    [token, agent.id, round],
  );
  const dropped = useLoad(async () => {
    const { body } = await apiCall(
      token,
      "GET",
      `/api/v4/-/kasmap/projects/${projectSegment(agent.config_project.id)}/audit_events?agent_id=${agent.id}&event_type=cluster_agent_authorization_changed&per_page=1`,
      "read the agent's configuration history",
    );
    return body[0]?.details ?? null;
  }, [token, agent.id, round]);
  const [project, setProject] = useState("");
  const [explained, setExplained] = useState(/** @type {{ project: string, answer: any } | null} */ (null));
  const [explainError, setExplainError] = useState(/** @type {string | null} */ (null));
  const explain = async (/** @type {Event} */ event) => {
    event.preventDefault();
    setExplainError(null);
    try {
      const path = `/api/v4/projects/${projectSegment(project.trim())}/cluster_agents/${agent.id}/authorization/explain`;
      setExplained({
        project: project.trim(),
        answer: (await apiCall(token, "GET", path, "explain the authorization")).body,
      });
    } catch (error) {
      setExplained(null);
      setExplainError(error instanceof Error ? error.message : String(error));
    }
  };
  return html`<section aria-labelledby="authorization-title">
    <h2 id="authorization-title">Authorization</h2>
    ${deployable.loading ? html`<${Loading} />` : null}
    <${ErrorMessage} text=${deployable.error} />
    ${
      deployable.data
        ? html`<p>${deployable.data.project_count} project${deployable.data.project_count === 1 ? "" : "s"} may deploy with this agent${deployable.data.projects.length < deployable.data.project_count ? ` (${deployable.data.projects.length} of them visible to you)` : ""}.</p>
      <dl class="facts"><dt>Groups (ci_access)</dt><dd>${deployable.data.groups.length ? deployable.data.groups.map((g) => g.full_path).join(", ") : "none"}</dd>
      <dt>Projects</dt><dd><ul class="plain">${deployable.data.projects.map((p) => html`<li key=${p.id}>${p.path_with_namespace}</li>`)}</ul></dd></dl>`
        : null
    }
    <form class="inline" onSubmit=${explain}>
      <label for="explain-project">Why may this project use it?</label>
      <input id="explain-project" list="deployable-projects" placeholder="group/project" value=${project} onInput=${(/** @type {any} */ e) => setProject(e.currentTarget.value)} />
      <datalist id="deployable-projects">${(deployable.data?.projects ?? []).map((p) => html`<option value=${p.path_with_namespace} />`)}</datalist>
      <button type="submit" disabled=${project.trim() === ""}>Explain</button>
    </form>
    <${ErrorMessage} text=${explainError} />
    ${
      explained
        ? html`<p class=${explained.answer.allowed ? "pass" : "fail"} role="status">${
            explained.answer.allowed
              ? `${explained.project} may use this agent: ${RULE_TEXT[explained.answer.rule] ?? explained.answer.rule}.`
              : `${explained.project} may not use this agent: ${explained.answer.reasons.join("; ")}.`
          }</p>`
        : null
    }
    <h3>Dropped configuration entries</h3>
    ${dropped.error ? html`<p class="muted">${dropped.error}</p>` : null}
    ${dropped.data === null && !dropped.loading && !dropped.error ? html`<p>No configuration change recorded.</p>` : null}
    ${
      dropped.data
        ? Number(dropped.data.dropped_count ?? 0) === 0
          ? html`<p>The last configuration change dropped nothing.</p>`
          : html`<p>The last configuration change dropped ${dropped.data.dropped_count} entr${dropped.data.dropped_count === 1 ? "y" : "ies"}:</p>
        <ul>${(dropped.data.dropped ?? []).map((/** @type {any} */ d, /** @type {number} */ i) => html`<li key=${i}>${d.access} ${d.target_type} <code>${d.path}</code> — ${DROP_REASON_TEXT[d.reason] ?? d.reason}</li>`)}</ul>`
        : null
    }
  </section>`;
}
