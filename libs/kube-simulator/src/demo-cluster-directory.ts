import { fileURLToPath } from "node:url";

/**
 * The YAML/JSON objects of the demo cluster (a 3-node kubeadm cluster with a GitLab agent pod)
 * that `npm start` serves when no kubeconfig is given, and that the tests load.
 */
export const DEMO_CLUSTER_DIRECTORY = fileURLToPath(new URL("../demo-cluster", import.meta.url));
