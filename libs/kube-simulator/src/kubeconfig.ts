import { stringify } from "yaml";

export type KubeconfigOptions = {
  /** Bearer token the user presents; omit for a simulator without authentication. */
  readonly token?: string;
  /** Used as the cluster, user and context name. Default `kasmap-simulator`. */
  readonly contextName?: string;
  /** Namespace of the context, as `kubectl config set-context --namespace` would write. */
  readonly namespace?: string;
  /**
   * Write `insecure-skip-tls-verify: true` (default). `false` writes the kubeconfig of
   * `kubectl proxy` or a plain-HTTP API server as users have it, without the flag.
   */
  readonly insecureSkipTlsVerify?: boolean;
};

/**
 * A standard kubeconfig (YAML) whose current context points at `server`.
 *
 * `insecure-skip-tls-verify: true` is set by default although the simulator speaks plain HTTP:
 * @kubernetes/client-node 1.x refuses an `http:` server otherwise ("HTTP protocol is not
 * allowed when skipTLSVerify is not set or false"); kubectl accepts it either way.
 */
export function buildKubeconfig(server: string, options: KubeconfigOptions = {}): string {
  const name = options.contextName ?? "kasmap-simulator";
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name,
        cluster:
          options.insecureSkipTlsVerify === false ? { server } : { server, "insecure-skip-tls-verify": true },
      },
    ],
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
