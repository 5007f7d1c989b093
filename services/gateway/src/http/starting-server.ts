import { createServer } from "node:http";
import type { StartRetry } from "@kasmap/bus";
import { RETRY_AFTER_SECONDS } from "./gateway-limits.ts";
import { PROBE_PATHS } from "./probe-paths.ts";

export type StartingServer = {
  /** Records the latest failed attempt; readiness names it. */
  report(retry: StartRetry): void;
  /** Frees the port for the real gateway. */
  close(): Promise<void>;
};

/**
 * What answers on the gateway's port while it waits for NATS at start, so probes and clients
 * learn why it is not ready instead of meeting a closed port: `GET /-/health` 200,
 * `GET /-/readiness` 503 `{"status":"failed","nats_check":[{"status":"failed","message":"NATS
 * unreachable at start; retrying (attempt 3)"}]}`, everything else 503
 * `{"message":"503 Service Unavailable"}` with `Retry-After`.
 */
export async function listenWhileStarting(port: number, host: string): Promise<StartingServer> {
  let message = "connecting to NATS";
  const server = createServer((request, response) => {
    const path = (request.url ?? "").split("?")[0];
    if (path === PROBE_PATHS.liveness) {
      response.writeHead(200, { "content-type": "text/plain; charset=utf-8" }).end("Kasmap starting");
      return;
    }
    const body =
      path === PROBE_PATHS.readiness
        ? { status: "failed", nats_check: [{ status: "failed", message }], db_check: [{ status: "unknown" }] }
        : { message: "503 Service Unavailable" };
    response
      .writeHead(503, { "content-type": "application/json", "retry-after": String(RETRY_AFTER_SECONDS) })
      .end(JSON.stringify(body));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return {
    report(retry) {
      message = `${retry.dependency} unreachable at start; retrying (attempt ${retry.attempt})`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
