/**
 * The verify form: its fields as the verify route's body (`ClusterExpectations`) and as the
 * `kasmap-verify` command line a CI job runs (cli/kasmap-verify). Pure: shared by the page and tests.
 */

/** Form field → the CLI flag that sets the same expectation. */
export const EXPECTATION_FLAGS = {
  api_endpoint_ip: "--expect-api-endpoint-ip",
  node_ips: "--expect-node-ips",
  node_ips_internal: "--expect-node-ips-internal",
  node_ips_external: "--expect-node-ips-external",
  pod_cidrs: "--expect-pod-cidrs",
  service_cidrs: "--expect-service-cidrs",
  cluster_name: "--expect-cluster-name",
  cluster_context: "--expect-cluster-context",
  platform: "--expect-platform",
  cluster_uid: "--expect-cluster-uid",
};

const TEXT_FIELDS = new Set(["cluster_name", "cluster_context", "platform", "cluster_uid"]);

/**
 * The route's body from the form: range fields split on commas, spaces and new lines; blank
 * fields left out.
 * @param {Record<string, string>} form
 * @returns {Record<string, string | string[]>}
 */
export function expectationsOf(form) {
  /** @type {Record<string, string | string[]>} */
  const body = {};
  for (const field of Object.keys(EXPECTATION_FLAGS)) {
    const text = (form[field] ?? "").trim();
    if (text === "") continue;
    body[field] = TEXT_FIELDS.has(field) ? text : text.split(/[\s,]+/).filter(Boolean);
  }
  return body;
}

/** A word for a POSIX shell: bare when safe, else in single quotes. @param {string} word */
export function shellQuote(word) {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'"'"'`)}'`;
}

/**
 * `kasmap-verify --agent <project>:<agent> --expect-… …`, for a CI job's script.
 * @param {string} projectPath
 * @param {string} agentName
 * @param {Record<string, string | string[]>} expectations
 */
export function verifyCommand(projectPath, agentName, expectations) {
  const words = ["kasmap-verify", "--agent", shellQuote(`${projectPath}:${agentName}`)];
  for (const [field, flag] of Object.entries(EXPECTATION_FLAGS)) {
    const value = expectations[field];
    if (value === undefined) continue;
    words.push(flag, shellQuote(Array.isArray(value) ? value.join(",") : value));
  }
  return words.join(" ");
}
