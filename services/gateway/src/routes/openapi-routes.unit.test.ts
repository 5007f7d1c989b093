import { buildOpenApiDocument, HTTP_METHODS, openApiPath } from "@kasmap/contracts";
import { createLogger } from "@kasmap/logging";
import { describe, expect, it } from "vitest";
import type { GatewayContext } from "../context.ts";
import { buildGatewayApp } from "../http/app.ts";
import { DEFAULT_GATEWAY_LIMITS } from "../http/gateway-limits.ts";
import { GatewayMetrics } from "../http/metrics.ts";

/** Registration and the document routes touch only the logger and metrics; nothing here hits a database. */
function documentsOnlyContext(): GatewayContext {
  const ctx = {
    logger: createLogger("gateway-test", "silent"),
    metrics: new GatewayMetrics(),
    limits: DEFAULT_GATEWAY_LIMITS,
  };
  return ctx as unknown as GatewayContext;
}

/**
 * Every route the gateway registers, read off Fastify's route tree (`printRoutes`), as
 * `METHOD /path` with Fastify's `:param` form. HEAD twins of GET routes are Fastify's own.
 */
async function registeredRoutes(): Promise<string[]> {
  const app = buildGatewayApp(documentsOnlyContext());
  await app.ready();
  const tree = app.printRoutes({ commonPrefix: false });
  await app.close();
  const prefixes: string[] = [];
  const routes: string[] = [];
  for (const line of tree.split("\n")) {
    const match = /^((?:[│ ] {3})*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = (match[1] ?? "").length / 4;
    prefixes.length = depth;
    const path = prefixes.join("") + (match[2] ?? "");
    prefixes.push(match[2] ?? "");
    for (const method of (match[3] ?? "").split(", ").filter((m) => m && m !== "HEAD" && m !== "OPTIONS")) {
      routes.push(`${method} ${path}`);
    }
  }
  return routes;
}

function documentedRoutes(): string[] {
  const document = buildOpenApiDocument();
  return Object.entries(document.paths).flatMap(([path, operations]) =>
    HTTP_METHODS.filter((m) => m in operations).map((m) => `${m.toUpperCase()} ${path}`),
  );
}

describe("the OpenAPI document and the gateway's routes", () => {
  it("documents every route the gateway registers (add an entry to REST_ROUTES in libs/contracts)", async () => {
    const registered = await registeredRoutes();
    expect(registered).toContain("GET /api/v4/projects/:id/cluster_agents/:agent_id/cluster_info");
    expect(registered).toContain("GET /api/v4/openapi.json");
    // The document is built once: building it per route made this test slower with every route.
    const documented = documentedRoutes();
    const undocumented = registered.filter((route) => {
      const [method, path] = route.split(" ");
      return !documented.includes(`${method} ${openApiPath(path ?? "")}`);
    });
    expect(undocumented).toEqual([]);
  });

  it("documents no route the gateway lacks", async () => {
    const registered = new Set((await registeredRoutes()).map((r) => openApiPath(r)));
    expect(documentedRoutes().filter((route) => !registered.has(route))).toEqual([]);
  });

  it("gives every path parameter a description and every operation a success response", () => {
    const document = buildOpenApiDocument();
    for (const operations of Object.values(document.paths)) {
      for (const operation of Object.values(operations)) {
        for (const parameter of operation.parameters.filter((p) => p.in === "path")) {
          expect(parameter.description, `${operation.operationId} ${parameter.name}`).not.toBe(
            parameter.name,
          );
        }
        expect(Object.keys(operation.responses).some((code) => code.startsWith("2"))).toBe(true);
      }
    }
  });

  it("serves the documents and an HTML page listing every operation, without a token", async () => {
    const app = buildGatewayApp(documentsOnlyContext());
    const openApi = await app.inject({ method: "GET", url: "/api/v4/openapi.json" });
    const asyncApi = await app.inject({ method: "GET", url: "/api/v4/asyncapi.json" });
    const page = await app.inject({ method: "GET", url: "/api/v4/docs" });
    await app.close();
    expect(openApi.statusCode).toBe(200);
    expect(openApi.json()).toEqual(buildOpenApiDocument());
    expect(asyncApi.json()).toMatchObject({ asyncapi: "3.0.0" });
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.body).not.toMatch(/<script|https?:\/\/(?!json-schema)/);
    for (const operationPath of Object.keys(buildOpenApiDocument().paths)) {
      expect(page.body).toContain(`<code>${operationPath}</code>`);
    }
  });
});
