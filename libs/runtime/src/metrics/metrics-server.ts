import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "@kasmap/logging";
import type { Registry } from "prom-client";

export type MetricsServer = {
  /** `http://host:port`, the port the system picked when asked for 0. */
  readonly url: string;
  stop(): Promise<void>;
};

/**
 * Serves `registry` as `GET /metrics` (Prometheus text format, `registry.contentType`) for a
 * service without an HTTP server of its own; every other path answers 404, every other method
 * 405. Scrapes are rendered one after another by prom-client; a failed rendering answers 500
 * with no detail (logged).
 */
export async function startMetricsServer(
  registry: Registry,
  options: { port: number; host: string; logger: Logger },
): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (path !== "/metrics") return void response.writeHead(404).end();
    if (request.method !== "GET" && request.method !== "HEAD") {
      return void response.writeHead(405, { allow: "GET, HEAD" }).end();
    }
    registry.metrics().then(
      (text) => {
        response.writeHead(200, { "content-type": registry.contentType });
        response.end(request.method === "HEAD" ? undefined : text);
      },
      (error: unknown) => {
        options.logger.error({ err: error }, "metrics not rendered");
        response.writeHead(500).end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  const url = `http://${host}:${port}`;
  options.logger.info({ url: `${url}/metrics` }, "serving metrics");
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * `startMetricsServer` when `port` is given (`KASMAP_METRICS_PORT`), else nothing: a stop that
 * does nothing.
 */
export async function serveMetricsIfConfigured(
  registry: Registry,
  env: { KASMAP_METRICS_PORT?: number | undefined; KASMAP_METRICS_HOST: string },
  logger: Logger,
): Promise<{ stop(): Promise<void> }> {
  if (env.KASMAP_METRICS_PORT === undefined) return { stop: async () => {} };
  return startMetricsServer(registry, {
    port: env.KASMAP_METRICS_PORT,
    host: env.KASMAP_METRICS_HOST,
    logger,
  });
}
