import { readFileSync } from "node:fs";
import type { CollectorConnection, DownwardApi } from "@kasmap/cluster-info";
import { KubeConfig } from "@kubernetes/client-node";

const SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/** A kubeconfig file when given, else the pod's in-cluster service account. */
export function loadKubeConfig(kubeconfigPath: string | null): {
  kubeConfig: KubeConfig;
  connection: CollectorConnection;
} {
  const kubeConfig = new KubeConfig();
  if (kubeconfigPath) {
    kubeConfig.loadFromFile(kubeconfigPath);
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
