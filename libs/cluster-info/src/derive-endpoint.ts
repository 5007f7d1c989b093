import type { FieldSource } from "@kasmap/contracts";
import type { DiagnosticsRecorder } from "./diagnostics.ts";
import { type ParsedIp, parseIp, sortedUniqueIps } from "./ip-address.ts";
import type { ClusterObservation } from "./observation.ts";
import { missingFrom, type ParsedSources } from "./parsed-sources.ts";

export type EndpointFacts = {
  api_endpoint: string | null;
  api_endpoint_ip: string | null;
  api_endpoint_ips: string[];
  sources: Record<"api_endpoint" | "api_endpoint_ip" | "api_endpoint_ips", FieldSource>;
};

type Endpoint = { url: string; source: FieldSource; isServiceVip: boolean };

/** kubeadm's default API server bind port (InitConfiguration localAPIEndpoint.bindPort). */
const KUBEADM_DEFAULT_PORT = 6443;

function hostOf(url: string): string | null {
  if (!URL.canParse(url)) return null;
  // WHATWG URL keeps IPv6 hosts in brackets: "https://[fd00::1]:6443" → "[fd00::1]".
  return new URL(url).hostname.replace(/^\[(.*)\]$/, "$1");
}

function fromKubeadm(endpoint: string): Endpoint {
  // controlPlaneEndpoint is "host" or "host:port" (kubeadm docs); IPv6 hosts are bracketed.
  const hasPort = /:\d+$/.test(endpoint) && (!endpoint.includes("]") || endpoint.includes("]:"));
  const source = "kubeadm-config ClusterConfiguration.controlPlaneEndpoint";
  if (hasPort)
    return { url: `https://${endpoint}`, source: { kind: "observed", source }, isServiceVip: false };
  return {
    url: `https://${endpoint}:${KUBEADM_DEFAULT_PORT}`,
    source: {
      kind: "inferred",
      source,
      detail: `controlPlaneEndpoint "${endpoint}" has no port; kubeadm then uses the bind port, by default ${KUBEADM_DEFAULT_PORT}`,
    },
    isServiceVip: false,
  };
}

function fromConnection(o: ClusterObservation): Endpoint | null {
  if (o.connection === null) return null;
  if (o.connection.mode === "kubeconfig") {
    return {
      url: o.connection.server,
      source: { kind: "observed", source: "collector kubeconfig server" },
      isServiceVip: false,
    };
  }
  return {
    url: o.connection.server,
    source: {
      kind: "observed",
      source: "collector in-cluster config (KUBERNETES_SERVICE_HOST)",
      detail: "the default/kubernetes Service virtual IP, reachable only from inside the cluster",
    },
    isServiceVip: true,
  };
}

/** Most authoritative first: what the platform or kubeadm publishes, then how we connect. */
function chooseEndpoint(s: ParsedSources, o: ClusterObservation, d: DiagnosticsRecorder): Endpoint | null {
  const infra = s.openshiftInfrastructure.state === "ok" ? s.openshiftInfrastructure.value.status : null;
  const kubeadm = s.kubeadmConfig.state === "ok" ? s.kubeadmConfig.value.controlPlaneEndpoint : null;
  const candidates: (Endpoint | null)[] = [
    infra?.apiServerURL
      ? {
          url: infra.apiServerURL,
          source: {
            kind: "observed",
            source: "Infrastructure.config.openshift.io/cluster status.apiServerURL",
          },
          isServiceVip: false,
        }
      : null,
    s.clusterInfoConfigMap.state === "ok"
      ? {
          url: s.clusterInfoConfigMap.value,
          source: { kind: "observed", source: "ConfigMap kube-public/cluster-info kubeconfig server" },
          isServiceVip: false,
        }
      : null,
    kubeadm ? fromKubeadm(kubeadm) : null,
    fromConnection(o),
  ];
  for (const candidate of candidates) {
    if (candidate === null) continue;
    if (hostOf(candidate.url) !== null) return candidate;
    d.rejectObject("api_endpoint", `not a URL: ${candidate.url}`);
  }
  return null;
}

function readyEndpointSliceIps(s: ParsedSources, d: DiagnosticsRecorder): ParsedIp[] {
  if (s.kubernetesEndpointSlices.state !== "ok") return [];
  const ips: ParsedIp[] = [];
  for (const slice of s.kubernetesEndpointSlices.value) {
    if (slice.addressType !== "IPv4" && slice.addressType !== "IPv6") continue;
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.conditions?.ready === false) continue;
      for (const address of endpoint.addresses) {
        const ip = parseIp(address);
        if (ip === null) d.invalidIp("EndpointSlice default/kubernetes", address);
        else ips.push(ip);
      }
    }
  }
  return ips;
}

function listDetail(all: readonly string[]): string | undefined {
  return all.length > 1 ? `all addresses: ${all.join(", ")}` : undefined;
}

function chooseEndpointIp(
  endpoint: Endpoint | null,
  s: ParsedSources,
  o: ClusterObservation,
  d: DiagnosticsRecorder,
): { ip: string | null; source: FieldSource } {
  const host = endpoint ? hostOf(endpoint.url) : null;
  const literal = host === null ? null : parseIp(host);
  if (literal !== null && endpoint && !endpoint.isServiceVip) {
    return { ip: literal.text, source: { kind: "observed", source: "api_endpoint host" } };
  }
  const resolved = sortedUniqueIps((o.resolvedApiEndpointIps ?? []).flatMap((t) => parseIp(t) ?? []));
  if (literal === null && resolved[0] !== undefined) {
    const detail = listDetail(resolved);
    const source = `DNS resolution of ${host} by the collector`;
    return {
      ip: resolved[0],
      source: detail ? { kind: "observed", source, detail } : { kind: "observed", source },
    };
  }
  const sliceIps = sortedUniqueIps(readyEndpointSliceIps(s, d));
  if (sliceIps[0] !== undefined) {
    const source = "EndpointSlice default/kubernetes endpoints[].addresses";
    const all = listDetail(sliceIps);
    if (literal === null && host !== null) {
      const detail =
        `api_endpoint host ${host} was not resolved; this is the API server address registered inside the ` +
        `cluster, which may differ from what the host name resolves to (e.g. a load balancer)${all ? `; ${all}` : ""}`;
      return { ip: sliceIps[0], source: { kind: "inferred", source, detail } };
    }
    return {
      ip: sliceIps[0],
      source: all ? { kind: "observed", source, detail: all } : { kind: "observed", source },
    };
  }
  return { ip: null, source: missingFrom({ kubernetesEndpointSlices: s.kubernetesEndpointSlices }) };
}

/**
 * Every API server address: `api_endpoint_ip` first (the original request's single value), then
 * the other addresses the host name resolved to, then every ready address of the `kubernetes`
 * EndpointSlices (each API server instance registers one), without duplicates.
 */
function allEndpointIps(
  first: { ip: string | null; source: FieldSource },
  s: ParsedSources,
  o: ClusterObservation,
  d: DiagnosticsRecorder,
): { ips: string[]; source: FieldSource } {
  const resolved = sortedUniqueIps((o.resolvedApiEndpointIps ?? []).flatMap((t) => parseIp(t) ?? []));
  const slice = sortedUniqueIps(readyEndpointSliceIps(s, d));
  const ips = [...new Set([...(first.ip ? [first.ip] : []), ...resolved, ...slice])];
  if (ips.length === 0) {
    return { ips, source: missingFrom({ kubernetesEndpointSlices: s.kubernetesEndpointSlices }) };
  }
  const from = first.source.kind === "missing" ? "" : `api_endpoint_ip (${first.source.source}) first, then `;
  const parts = [
    resolved.length > 0 ? "the DNS resolution of the api_endpoint host" : "",
    slice.length > 0 ? "EndpointSlice default/kubernetes endpoints[].addresses (ready)" : "",
  ].filter((p) => p);
  return {
    ips,
    source: {
      kind: "observed",
      source: "EndpointSlice default/kubernetes endpoints[].addresses",
      detail: `${from}${parts.join(", then ") || "no other address"}`,
    },
  };
}

/** api_endpoint and the API server IP behind it. Never resolves DNS (pure). */
export function deriveEndpoint(
  s: ParsedSources,
  o: ClusterObservation,
  d: DiagnosticsRecorder,
): EndpointFacts {
  const endpoint = chooseEndpoint(s, o, d);
  const ip = chooseEndpointIp(endpoint, s, o, d);
  const endpointSource =
    endpoint?.source ??
    missingFrom(
      {
        openshiftInfrastructure: s.openshiftInfrastructure,
        clusterInfoConfigMap: s.clusterInfoConfigMap,
        kubeadmConfig: s.kubeadmConfig,
      },
      "not-found",
      "and no collector connection was recorded",
    );
  const all = allEndpointIps(ip, s, o, d);
  return {
    api_endpoint: endpoint?.url ?? null,
    api_endpoint_ip: ip.ip,
    api_endpoint_ips: all.ips,
    sources: { api_endpoint: endpointSource, api_endpoint_ip: ip.source, api_endpoint_ips: all.source },
  };
}
