import { stringify } from "yaml";

export type KubeconfigOptions = {
  /** Bearer token the user presents; omit for a simulator without authentication. */
  readonly token?: string;
  /** Used as the cluster, user and context name. Default `kasmap-simulator`. */
  readonly contextName?: string;
  /** Namespace of the context, as `kubectl config set-context --namespace` would write. */
  readonly namespace?: string;
};

/** A standard kubeconfig (YAML) whose current context points at `server`. */
export function buildKubeconfig(server: string, options: KubeconfigOptions = {}): string {
  const name = options.contextName ?? "kasmap-simulator";
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name, cluster: { server } }],
    users: [{ name, user: options.token === undefined ? {} : { token: options.token } }],
    contexts: [
      {
        name,
        context: {
          cluster: name,
          user: name,
          ...(options.namespace ? { namespace: options.namespace } : {}),
        },
      },
    ],
    "current-context": name,
    preferences: {},
  });
}
