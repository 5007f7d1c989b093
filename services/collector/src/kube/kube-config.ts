import { readFileSync } from "node:fs";
import type { CollectorConnection, DownwardApi } from "@kasmap/cluster-info";
import { KubeConfig } from "@kubernetes/client-node";

const SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/**
 * Lets @kubernetes/client-node 1.4 talk to a plain `http://` server (`kubectl proxy`, a local
 * API server without TLS), as kubectl does. The library picks its HTTP agent in a private
 * `createAgent`: an `http:` server gets an `http.Agent` only when the cluster's `skipTLSVerify`
 * is set, and otherwise throws "HTTP protocol is not allowed when skipTLSVerify is not set or
 * false". On a plain-HTTP connection there is no TLS to verify, so setting the flag there only
 * selects the HTTP agent. It is set for an `http:` server without a proxy only: an `https:`
 * server keeps full verification, and a proxied cluster (whose proxy may speak TLS) is left
 * as configured.
 */
export function allowPlainHttpServer(kubeConfig: KubeConfig): void {
  const current = kubeConfig.getCurrentCluster();
  if (!current || current.proxyUrl || current.skipTLSVerify) return;
  if (new URL(current.server).protocol !== "http:") return;
  kubeConfig.clusters = kubeConfig.clusters.map((cluster) =>
    cluster.name === current.name ? { ...cluster, skipTLSVerify: true } : cluster,
  );
}

/** A kubeconfig file when given, else the pod's in-cluster service account. */
export function loadKubeConfig(kubeconfigPath: string | null): {
  kubeConfig: KubeConfig;
  connection: CollectorConnection;
} {
  const kubeConfig = new KubeConfig();
  if (kubeconfigPath) {
    kubeConfig.loadFromFile(kubeconfigPath);
    allowPlainHttpServer(kubeConfig);
  } else {
    kubeConfig.loadFromCluster();
  }
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new Error("the kubeconfig has no current cluster");
  return { kubeConfig, connection: { server, mode: kubeconfigPath ? "kubeconfig" : "in-cluster" } };
}

/** The downward API values: POD_IP / POD_NAMESPACE, else the service-account namespace file. */
export function readDownwardApi(podIp: string | null, podNamespace: string | null): DownwardApi {
  if (podNamespace) return { podIp, namespace: podNamespace, namespaceSource: "env" };
  try {
    const namespace = readFileSync(SERVICE_ACCOUNT_NAMESPACE, "utf8").trim();
    if (namespace) return { podIp, namespace, namespaceSource: "service-account-file" };
  } catch {
    // Not in a pod: no namespace to report.
  }
  return { podIp, namespace: null, namespaceSource: null };
}
