import { apiCall, projectSegment } from "./api.js";
import { useState } from "./hooks.mjs";
import { ErrorMessage, html, Loading, useLoad } from "./ui.js";
import { EXPECTATION_FLAGS, expectationsOf, verifyCommand } from "./verify-command.js";

const LABELS = {
  api_endpoint_ip: "API endpoint IP ranges",
  node_ips: "Node IP ranges (internal and external)",
  node_ips_internal: "Internal node IP ranges",
  node_ips_external: "External node IP ranges",
  pod_cidrs: "Pod ranges",
  service_cidrs: "Service ranges",
  cluster_name: "Cluster name",
  cluster_context: "Cluster context",
  platform: "Platform",
  cluster_uid: "Cluster UID",
};

/**
 * Enter the expected ranges and names, see pass/fail per value
 * (`POST …/cluster_info/verify`), and copy the `kasmap-verify` command that checks the same in CI.
 */
export function VerifyPage({ token, projectId, agentId }) {
  const base = `/api/v4/projects/${projectSegment(projectId)}/cluster_agents/${agentId}`;
  const agent = useLoad(
    async () => (await apiCall(token, "GET", base, "load the agent")).body,
    [token, base],
  );
  const [form, setForm] = useState(/** @type {Record<string, string>} */ ({}));
  const [result, setResult] = useState(/** @type {any} */ (null));
  const [error, setError] = useState(/** @type {string | null} */ (null));
  const [copied, setCopied] = useState("");
  const expectations = expectationsOf(form);
  const command = agent.data
    ? verifyCommand(agent.data.config_project.path_with_namespace, agent.data.name, expectations)
    : "";
  const submit = async (/** @type {Event} */ event) => {
    event.preventDefault();
    setError(null);
    setResult(null);
    if (Object.keys(expectations).length === 0) return setError("Enter at least one expected range or name.");
    try {
      setResult(
        (await apiCall(token, "POST", `${base}/cluster_info/verify`, "verify the cluster", expectations))
          .body,
      );
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    }
  };
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(command);
      setCopied("Copied.");
    } catch {
      setCopied("Copying is not allowed here: select the command and copy it.");
    }
  };
  if (agent.loading) return html`<${Loading} />`;
  if (agent.error) return html`<h1>Verify</h1><${ErrorMessage} text=${agent.error} />`;
  return html`<section aria-labelledby="verify-title">
    <h1 id="verify-title">Verify ${agent.data.name}</h1>
    <p><a href=${`#/agents/${projectId}/${agentId}`}>Back to the agent</a>. Ranges: CIDRs or addresses, separated by commas or spaces.</p>
    <form class="grid" onSubmit=${submit}>
      ${Object.keys(EXPECTATION_FLAGS).map(
        (field) => html`<div class="field" key=${field}>
        <label for=${`expect-${field}`}>${LABELS[field]}</label>
        <input id=${`expect-${field}`} value=${form[field] ?? ""} onInput=${(/** @type {any} */ e) => setForm({ ...form, [field]: e.currentTarget.value })} />
      </div>`,
      )}
      <div class="field"><button type="submit">Verify</button></div>
    </form>
    <${ErrorMessage} text=${error} />
    ${
      result
        ? html`<p class=${result.ok ? "pass" : "fail"} role="status">${result.ok ? "Every check passed." : "Some checks failed."}</p>
      <div class="table-wrap" tabindex="0" role="region" aria-label="Verification results"><table>
        <thead><tr><th scope="col">Value</th><th scope="col">Reported</th><th scope="col">Result</th><th scope="col">Why</th></tr></thead>
        <tbody>${result.checks.map(
          (/** @type {any} */ check, /** @type {number} */ i) => html`<tr key=${i}>
          <th scope="row">${check.field}</th><td><code>${check.value ?? "none reported"}</code></td>
          <td><span class=${check.ok ? "badge pass" : "badge fail"}>${check.ok ? "pass" : "fail"}</span></td>
          <td>${check.ok ? (check.within ? `within ${check.within}` : "as expected") : (check.reason ?? "")}</td></tr>`,
        )}</tbody>
      </table></div>`
        : null
    }
    <h2>In a CI job</h2>
    <pre class="command" tabindex="0" aria-label="kasmap-verify command"><code>${command}</code></pre>
    <button type="button" onClick=${copy}>Copy command</button> <span role="status">${copied}</span>
  </section>`;
}
