import { buildAsyncApiDocument, buildOpenApiDocument } from "@kasmap/contracts";
import type { FastifyInstance } from "fastify";
import { renderDocsPage } from "../http/docs-page.ts";

/**
 * `GET /api/v4/openapi.json`, `GET /api/v4/asyncapi.json` and `GET /api/v4/docs` (HTML). The
 * documents are built from the zod contracts once per process, on first request: they change
 * only with the code. None needs a token.
 */
export function registerOpenApiRoutes(app: FastifyInstance): void {
  let openApi: { json: string; html: string } | null = null;
  let asyncApi: string | null = null;
  const documents = () => {
    if (!openApi) {
      const document = buildOpenApiDocument();
      openApi = { json: JSON.stringify(document), html: renderDocsPage(document) };
    }
    return openApi;
  };
  app.get("/api/v4/openapi.json", async (_request, reply) =>
    reply.type("application/json").send(documents().json),
  );
  app.get("/api/v4/docs", async (_request, reply) =>
    reply.type("text/html; charset=utf-8").send(documents().html),
  );
  app.get("/api/v4/asyncapi.json", async (_request, reply) => {
    asyncApi ??= JSON.stringify(buildAsyncApiDocument());
    return reply.type("application/json").send(asyncApi);
  });
}
