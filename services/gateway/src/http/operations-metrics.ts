import { Counter, outboxGaugeNames, type Registry, readingGauge, valueGauge } from "@kasmap/runtime/metrics";
import type { GatewayContext } from "../context.ts";
import { pipelineStatus } from "../read-model/pipeline-backlog.ts";

/** A status request asked at scrape time waits this long, ms (within the reading's deadline). */
const STATUS_TIMEOUT_MS = 1_500;

/** authz's own outbox gauges: the gateway reads the same through `outbox.status` when authz is elsewhere. */
const AUTHZ_OUTBOX = outboxGaugeNames("kasmap_authz_outbox");

/**
 * The gateway's view of the system on `registry`, read at scrape time:
 *
 * - `kasmap_gateway_cache_hits_total{cache}`, `kasmap_gateway_cache_misses_total{cache}`: the
 *   caches' own counts (`services/gateway/src/cache`);
 * - `kasmap_jetstream_account_storage_bytes`, `kasmap_jetstream_account_storage_limit_bytes`
 *   (only when the account has a limit), `kasmap_jetstream_stream_bytes{stream}`,
 *   `kasmap_jetstream_stream_messages{stream}`: absent while NATS cannot be asked;
 * - `kasmap_authz_outbox_pending_rows`, `kasmap_authz_outbox_set_aside_rows` as authz reports
 *   them (`outbox.status`), absent when authz does not answer — unless authz registered its own
 *   on this registry (`npm start`: one process, one registry);
 * - GitLab mode: `kasmap_gitlab_mirror_stale`, `kasmap_gitlab_reachable`,
 *   `kasmap_gitlab_mirror_age_seconds`, `kasmap_gitlab_mirrored_objects{kind}` from the sync
 *   service's status, absent when it does not answer.
 */
export function registerOperationsMetrics(registry: Registry, ctx: GatewayContext): void {
  registerCacheCounters(registry, ctx);
  registerStorageGauges(registry, ctx);
  if (!registry.getSingleMetric(AUTHZ_OUTBOX.pending)) registerAuthzOutboxGauges(registry, ctx);
  if (ctx.gitlabMirror) registerMirrorGauges(registry, ctx);
}

function registerCacheCounters(registry: Registry, ctx: GatewayContext): void {
  // Counters mirrored from the caches' own counts at scrape time: the hot read path keeps
  // incrementing a plain field.
  const mirrored = (
    name: string,
    help: string,
    count: (cache: GatewayContext["caches"]["all"][number]) => number,
  ) =>
    new Counter({
      name,
      help,
      labelNames: ["cache"],
      registers: [registry],
      collect() {
        this.reset();
        for (const cache of ctx.caches.all) this.inc({ cache: cache.name }, count(cache));
      },
    });
  mirrored("kasmap_gateway_cache_hits_total", "Reads answered from the in-process cache.", (c) => c.hits);
  mirrored("kasmap_gateway_cache_misses_total", "Reads that went to PostgreSQL.", (c) => c.misses);
}

function registerStorageGauges(registry: Registry, ctx: GatewayContext): void {
  valueGauge(registry, {
    name: "kasmap_jetstream_account_storage_bytes",
    help: "JetStream file storage used by the account.",
    read: async () => (await ctx.jetStreamStorage.read())?.usedBytes ?? null,
  });
  valueGauge(registry, {
    name: "kasmap_jetstream_account_storage_limit_bytes",
    help: "The account's JetStream file storage limit.",
    read: async () => (await ctx.jetStreamStorage.read())?.limitBytes ?? null,
  });
  const perStream = (name: string, help: string, field: "bytes" | "messages") =>
    readingGauge(registry, {
      name,
      help,
      labelNames: ["stream"],
      read: async () => {
        const storage = await ctx.jetStreamStorage.read();
        return (storage?.streams ?? []).map((s) => ({ labels: { stream: s.name }, value: s[field] }));
      },
    });
  perStream("kasmap_jetstream_stream_bytes", "Bytes stored in each Kasmap stream.", "bytes");
  perStream("kasmap_jetstream_stream_messages", "Messages stored in each Kasmap stream.", "messages");
}

function registerAuthzOutboxGauges(registry: Registry, ctx: GatewayContext): void {
  const outbox = async () => {
    const check = await pipelineStatus(ctx, STATUS_TIMEOUT_MS).outbox;
    return check.status === "ok" ? check : null;
  };
  valueGauge(registry, {
    name: AUTHZ_OUTBOX.pending,
    help: "Authz events committed but not yet published to NATS.",
    read: async () => (await outbox())?.pending ?? null,
  });
  valueGauge(registry, {
    name: AUTHZ_OUTBOX.setAside,
    help: "Authz events that can never be published, set aside (authz logs each); above 0 needs an operator.",
    read: async () => (await outbox())?.set_aside ?? null,
  });
}

function registerMirrorGauges(registry: Registry, ctx: GatewayContext): void {
  const mirror = async () => {
    const check = await pipelineStatus(ctx, STATUS_TIMEOUT_MS).mirror;
    return check && check.status !== "failed" ? check : null;
  };
  const flag = (value: boolean | undefined) => (value === undefined ? null : Number(value));
  valueGauge(registry, {
    name: "kasmap_gitlab_mirror_stale",
    help: "1 when the GitLab mirror is stale (no reconcile completed within twice the period, or GitLab unreachable).",
    read: async () => {
      const check = await mirror();
      return flag(check ? check.status === "stale" : undefined);
    },
  });
  valueGauge(registry, {
    name: "kasmap_gitlab_reachable",
    help: "1 when the sync service's last request to GitLab got an answer.",
    read: async () => flag((await mirror())?.gitlab_reachable),
  });
  valueGauge(registry, {
    name: "kasmap_gitlab_mirror_age_seconds",
    help: "Seconds since the last completed full reconcile with GitLab.",
    read: async () => (await mirror())?.age_seconds ?? null,
  });
  readingGauge(registry, {
    name: "kasmap_gitlab_mirrored_objects",
    help: "Groups, projects and agents mirrored from GitLab.",
    labelNames: ["kind"],
    read: async () => {
      const mirrored = (await mirror())?.mirrored;
      if (!mirrored) return [];
      return (["groups", "projects", "agents"] as const).map((kind) => ({
        labels: { kind },
        value: mirrored[kind],
      }));
    },
  });
}
