/**
 * Runs the Kubernetes API simulator from the command line:
 *   npx tsx libs/kube-simulator/src/main.ts --dir libs/kube-simulator/demo-cluster \
 *     --port 6443 --kubeconfig /tmp/demo.kubeconfig [--token secret]
 * Prints the URL and keeps serving until SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util";
import { KubeSimulator } from "./kube-simulator.ts";

const { values } = parseArgs({
  options: {
    dir: { type: "string" },
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    kubeconfig: { type: "string" },
    token: { type: "string" },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be an integer between 0 and 65535, got ${values.port}`);
  process.exit(2);
}

const simulator = new KubeSimulator(
  values.token === undefined
    ? {}
    : { bearerTokens: { [values.token]: "system:serviceaccount:gitlab-agent:kasmap" } },
);
if (values.dir !== undefined) {
  const count = await simulator.loadFromDirectory(values.dir);
  console.error(`loaded ${count} objects from ${values.dir}`);
}
const { url } = await simulator.start({ port, host: values.host });
if (values.kubeconfig !== undefined) {
  await simulator.writeKubeconfig(
    values.kubeconfig,
    values.token === undefined ? {} : { token: values.token },
  );
  console.error(`wrote kubeconfig ${values.kubeconfig}`);
}
console.log(url);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void simulator.close().then(() => process.exit(0));
  });
}
