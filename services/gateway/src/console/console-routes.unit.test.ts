import { createHash } from "node:crypto";
import { createLogger } from "@kasmap/logging";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GatewayContext } from "../context.ts";
import { buildGatewayApp } from "../http/app.ts";
import { DEFAULT_GATEWAY_LIMITS } from "../http/gateway-limits.ts";
import { GatewayMetrics } from "../http/metrics.ts";

/** Serving static files touches only the logger and metrics; nothing here hits a database. */
let app: FastifyInstance;
beforeAll(async () => {
  const ctx = {
    logger: createLogger("gateway-test", "silent"),
    metrics: new GatewayMetrics(),
    limits: DEFAULT_GATEWAY_LIMITS,
  };
  app = buildGatewayApp(ctx as unknown as GatewayContext);
  await app.ready();
});
afterAll(() => app.close());

describe("the console's files", () => {
  it("serves the page with a strict CSP that allows exactly its import map", async () => {
    const page = await app.inject({ method: "GET", url: "/-/console" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(page.body)?.[1] ?? "";
    const hash = createHash("sha256").update(importMap).digest("base64");
    const csp = String(page.headers["content-security-policy"]);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain(`script-src 'self' 'sha256-${hash}'`);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe");
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    expect(page.headers["cache-control"]).toBe("no-cache");
    // No other inline script, no external URL.
    expect(page.body.match(/<script/g)?.length).toBe(2);
    expect(page.body).not.toMatch(/https?:\/\//);
  });

  it("serves app and vendor modules by allow-list with JavaScript's type and cache headers", async () => {
    const app_ = await app.inject({ method: "GET", url: "/-/console/app.js" });
    expect(app_.statusCode).toBe(200);
    expect(app_.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(app_.headers["cache-control"]).toBe("no-cache");
    const preact = await app.inject({ method: "GET", url: "/-/console/preact.mjs" });
    expect(preact.statusCode).toBe(200);
    expect(preact.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(preact.headers["cache-control"]).toBe("public, max-age=86400");
    expect(preact.body).toContain("createElement");
    const css = await app.inject({ method: "GET", url: "/-/console/console.css" });
    expect(css.headers["content-type"]).toBe("text/css; charset=utf-8");
  });

  it("answers 304 to a matching ETag", async () => {
    const first = await app.inject({ method: "GET", url: "/-/console/htm.mjs" });
    const etag = String(first.headers.etag);
    const again = await app.inject({
      method: "GET",
      url: "/-/console/htm.mjs",
      headers: { "if-none-match": etag },
    });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe("");
  });

  it.each([
    "/-/console/index.html",
    "/-/console/console-routes.ts",
    "/-/console/address-query.d.ts",
    "/-/console/..%2Fconsole-routes.ts",
    "/-/console/..%2F..%2F..%2Fpackage.json",
    "/-/console/%2Fetc%2Fpasswd",
  ])("answers 404 for %s, which is not on the list", async (url) => {
    const answer = await app.inject({ method: "GET", url });
    expect(answer.statusCode).toBe(404);
    expect(answer.json()).toEqual({ error: "404 Not Found" });
  });
});
