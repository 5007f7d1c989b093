import { describe, expect, it } from "vitest";
import { type CollectorIdentityInput, collectorIdentity } from "./collector-identity.ts";

const base: CollectorIdentityInput = {
  podName: null,
  nodeName: null,
  podIp: null,
  namespace: null,
  hostname: "laptop",
  inKubernetes: false,
  version: "0.1.0",
  commit: null,
};
const RANDOM = "4b0e7c7e-2a55-4d1b-9d38-0c0f6f1f8a1e";

describe("collectorIdentity", () => {
  it.each([
    {
      case: "a pod with the downward API",
      input: {
        ...base,
        podName: "kasmap-collector-7d9f-abcde",
        nodeName: "node-1",
        podIp: "10.244.1.7",
        namespace: "gitlab-agent",
        hostname: "kasmap-collector-7d9f-abcde",
        inKubernetes: true,
        commit: "0123abc",
      },
      collectorId: "kasmap-collector-7d9f-abcde",
      podName: "kasmap-collector-7d9f-abcde",
    },
    {
      case: "a pod without POD_NAME: its host name is its pod name",
      input: { ...base, hostname: "kasmap-collector-7d9f-fghij", inKubernetes: true },
      collectorId: "kasmap-collector-7d9f-fghij",
      podName: "kasmap-collector-7d9f-fghij",
    },
    {
      case: "outside Kubernetes: a new collector per process, named after the host",
      input: base,
      collectorId: RANDOM,
      podName: "laptop",
    },
    {
      case: "outside Kubernetes without a host name",
      input: { ...base, hostname: "" },
      collectorId: RANDOM,
      podName: null,
    },
  ])("$case", ({ input, collectorId, podName }) => {
    const identity = collectorIdentity(input, () => RANDOM);
    expect(identity).toEqual({
      collectorId,
      replica: {
        pod_name: podName,
        pod_ip: input.podIp,
        namespace: input.namespace,
        node: input.nodeName,
        version: "0.1.0",
        commit: input.commit,
      },
    });
  });
});
