/**
 * The gateway's probe endpoints (GitLab's names), served by the operations routes and, while the
 * gateway waits for NATS at start, by the stand-in server; the Kubernetes Deployment's probes
 * use them (infra/kubernetes/base/gateway.yaml).
 */
export const PROBE_PATHS = {
  /** 200 while the process answers. */
  liveness: "/-/health",
  /** 200 when NATS is connected and PostgreSQL answers, else 503. */
  readiness: "/-/readiness",
} as const;
