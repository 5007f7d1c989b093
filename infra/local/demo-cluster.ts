import { DEMO_CLUSTER_DIRECTORY, KubeSimulator } from "@kasmap/kube-simulator";

/** The agent's own pod in the demo fixtures (what the downward API would give the collector). */
export const DEMO_AGENT_POD = { ip: "10.244.1.17", namespace: "gitlab-agent" } as const;

/**
 * A simulated 3-node kubeadm cluster serving the real Kubernetes REST API on loopback, for
 * `npm start` without a kubeconfig. `kubectl --kubeconfig .kasmap/demo-kubeconfig get nodes`
 * reads it; it is read-only over HTTP (tests change it in-process).
 */
export async function startDemoCluster(
  kubeconfigPath: string,
): Promise<{ url: string; stop(): Promise<void> }> {
  const simulator = new KubeSimulator();
  await simulator.loadFromDirectory(DEMO_CLUSTER_DIRECTORY);
  const { url } = await simulator.start({ host: "127.0.0.1", port: 0 });
  await simulator.writeKubeconfig(kubeconfigPath);
  return { url, stop: () => simulator.close() };
}
