import { exampleOf, type JsonSchema, jsonSchemaOf } from "./json-schema.ts";
import { PaginationQuerySchema } from "./rest.ts";
import {
  GitLabMessageErrorSchema,
  GitLabParamErrorSchema,
  GitLabTokenErrorSchema,
} from "./rest-documented.ts";
import {
  type GitLabMode,
  type NamedSchema,
  pathParameterDescription,
  REST_ROUTES,
  type RestRoute,
} from "./rest-routes.ts";

/** The parts of an OpenAPI 3.1 document Kasmap emits (and its docs page reads). */
export type OpenApiParameter = {
  name: string;
  in: "path" | "query" | "header";
  required: boolean;
  description?: string;
  schema: JsonSchema;
};
export type OpenApiMedia = { schema: JsonSchema; example?: unknown };
export type OpenApiResponse = {
  description: string;
  headers?: Record<string, { description: string; schema: JsonSchema }>;
  content?: Record<string, OpenApiMedia>;
};
export type OpenApiOperation = {
  operationId: string;
  summary: string;
  tags: string[];
  security: Array<Record<string, string[]>>;
  parameters: OpenApiParameter[];
  requestBody?: { required: boolean; content: Record<string, OpenApiMedia> };
  responses: Record<string, OpenApiResponse>;
  /** Who answers in GitLab mode (`RestRoute.gitlabMode`): Kasmap, GitLab (forwarded), or GitLab plus `cluster_info`. */
  "x-kasmap-gitlab-mode": GitLabMode;
};
export type OpenApiDocument = {
  openapi: "3.1.0";
  info: { title: string; version: string; description: string };
  servers: Array<{ url: string }>;
  tags: Array<{ name: string }>;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: {
    securitySchemes: Record<string, Record<string, string>>;
    schemas: Record<string, JsonSchema>;
  };
};

const SECURITY_SCHEMES = {
  privateToken: { type: "apiKey", in: "header", name: "PRIVATE-TOKEN", description: "Personal access token" },
  bearer: { type: "http", scheme: "bearer", description: "Personal access token as `Authorization: Bearer`" },
  jobToken: { type: "apiKey", in: "header", name: "JOB-TOKEN", description: "A running CI job's token" },
};
const ANY_TOKEN: Array<Record<string, string[]>> = [{ privateToken: [] }, { bearer: [] }, { jobToken: [] }];

const PAGINATION_HEADERS = ["X-Total", "X-Total-Pages", "X-Page", "X-Per-Page", "X-Next-Page", "X-Prev-Page"];

/** `/api/v4/projects/:id` → `/api/v4/projects/{id}`. */
export function openApiPath(fastifyPath: string): string {
  return fastifyPath.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, "{$1}");
}

/** `post /api/v4/projects/:id/cluster_agents` → `postApiV4ProjectsIdClusterAgents`. */
function operationId(route: RestRoute): string {
  const words = route.path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return route.method + words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join("");
}

function ref(name: string): JsonSchema {
  return { $ref: `#/components/schemas/${name}` };
}

function errorResponse(description: string, schemaName: string): OpenApiResponse {
  return { description, content: { "application/json": { schema: ref(schemaName) } } };
}

function parametersOf(route: RestRoute): OpenApiParameter[] {
  const pathParams = [...route.path.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map(
    ([, name]): OpenApiParameter => ({
      name: name ?? "",
      in: "path",
      required: true,
      description: pathParameterDescription(route.path, name ?? ""),
      schema: { type: "string" },
    }),
  );
  const querySchemas = [route.query, route.paginated ? PaginationQuerySchema : undefined];
  const queryParams = querySchemas.flatMap((schema) => {
    if (!schema) return [];
    const json = jsonSchemaOf(schema, "input");
    const required = new Set((json.required as string[] | undefined) ?? []);
    return Object.entries((json.properties ?? {}) as Record<string, JsonSchema>).map(
      ([name, property]): OpenApiParameter => ({
        name,
        in: "query",
        required: required.has(name),
        schema: property,
      }),
    );
  });
  return [...pathParams, ...queryParams];
}

function successResponse(route: RestRoute, schemas: Record<string, JsonSchema>): OpenApiResponse {
  const { body, list, mediaType } = route.success;
  const response: OpenApiResponse = { description: route.success.status === 204 ? "No Content" : "Success" };
  if (body) {
    const item = ref(body.name);
    const schema = list ? { type: "array", items: item } : item;
    const example = list ? [exampleOf(schemas[body.name])] : exampleOf(schemas[body.name]);
    response.content = { [mediaType ?? "application/json"]: { schema, example } };
  }
  if (route.paginated) {
    response.headers = Object.fromEntries(
      PAGINATION_HEADERS.map((h) => [
        h,
        { description: `GitLab pagination: ${h}`, schema: { type: "string" } },
      ]),
    );
  }
  return response;
}

function responsesOf(route: RestRoute, schemas: Record<string, JsonSchema>): Record<string, OpenApiResponse> {
  const responses: Record<string, OpenApiResponse> = {
    [String(route.success.status)]: successResponse(route, schemas),
  };
  if (route.body || route.query || route.paginated) {
    responses["400"] = {
      description: 'Bad request: `{"error": "name is missing"}` (parameters) or `{"message": {...}}` (model)',
      content: {
        "application/json": { schema: { anyOf: [ref("GitLabParamError"), ref("GitLabMessageError")] } },
      },
    };
  }
  if (route.authenticated) {
    const messageOrToken = { schema: { anyOf: [ref("GitLabMessageError"), ref("GitLabTokenError")] } };
    responses["401"] = {
      description:
        '`{"message": "401 Unauthorized"}`; an expired or revoked personal access token gets `{"error": "invalid_token", "error_description": "…"}` with `WWW-Authenticate`',
      content: { "application/json": messageOrToken },
    };
    responses["403"] = {
      description:
        '`{"message": "403 Forbidden"}` (or `"403 Forbidden - Your account has been blocked."`); a token without a scope the route takes gets `{"error": "insufficient_scope", "error_description": "…", "scope": "api read_api"}`',
      content: { "application/json": messageOrToken },
    };
    responses["404"] = errorResponse(
      '`{"message": "404 Project Not Found"}` and the like',
      "GitLabMessageError",
    );
  }
  if (route.method !== "get") {
    responses["409"] = errorResponse(
      '`{"message": "Member already exists"}`, `{"message": "Username has already been taken"}` (GitLab\'s `conflict!`)',
      "GitLabMessageError",
    );
  }
  if (route.body) {
    responses["413"] = errorResponse(
      '`{"message": "413 Request Entity Too Large - the request body is over 1048576 bytes"}` (the gateway\'s body limit, `KASMAP_HTTP_BODY_LIMIT_BYTES`)',
      "GitLabMessageError",
    );
  }
  if (route.success.mediaType === "text/event-stream") {
    responses["429"] = errorResponse(
      '`{"message": "429 Too Many Requests - at most 5 live event streams per user"}` with `Retry-After` (`KASMAP_LIVE_CONNECTIONS_PER_USER`)',
      "GitLabMessageError",
    );
  }
  responses["503"] = errorResponse(
    '`{"message": "503 Service Unavailable"}` with `Retry-After` (PostgreSQL, NATS or authz unreachable or timed out)',
    "GitLabMessageError",
  );
  return responses;
}

function requestBodyOf(
  route: RestRoute,
  schemas: Record<string, JsonSchema>,
): OpenApiOperation["requestBody"] {
  if (!route.body) return undefined;
  const media: OpenApiMedia = { schema: ref(route.body.name), example: exampleOf(schemas[route.body.name]) };
  const content: Record<string, OpenApiMedia> = {
    "application/json": media,
    ...(route.rawBodyTypes ? {} : { "application/x-www-form-urlencoded": { schema: ref(route.body.name) } }),
  };
  for (const type of route.rawBodyTypes ?? []) content[type] = { schema: { type: "string" } };
  return { required: true, content };
}

function componentSchemas(): Record<string, JsonSchema> {
  const all: NamedSchema[] = REST_ROUTES.flatMap((r) => [r.body, r.success.body ?? undefined]).filter(
    (s): s is NamedSchema => s !== undefined,
  );
  const schemas: Record<string, JsonSchema> = {
    GitLabMessageError: jsonSchemaOf(GitLabMessageErrorSchema, "output"),
    GitLabParamError: jsonSchemaOf(GitLabParamErrorSchema, "output"),
    GitLabTokenError: jsonSchemaOf(GitLabTokenErrorSchema, "output"),
  };
  for (const { name, schema } of all) {
    const isRequest = REST_ROUTES.some((r) => r.body?.name === name);
    schemas[name] = jsonSchemaOf(schema, isRequest ? "input" : "output");
  }
  return schemas;
}

/**
 * The gateway's OpenAPI 3.1 document, built from `REST_ROUTES` and the zod schemas (served at
 * `GET /api/v4/openapi.json`, committed as `libs/contracts/generated/openapi.json`).
 */
export function buildOpenApiDocument(): OpenApiDocument {
  const schemas = componentSchemas();
  const paths: OpenApiDocument["paths"] = {};
  for (const route of REST_ROUTES) {
    const operation: OpenApiOperation = {
      operationId: operationId(route),
      summary: route.summary,
      tags: [route.tag],
      security: route.authenticated ? ANY_TOKEN : [],
      parameters: parametersOf(route),
      responses: responsesOf(route, schemas),
      "x-kasmap-gitlab-mode": route.gitlabMode,
    };
    const requestBody = requestBodyOf(route, schemas);
    if (requestBody) operation.requestBody = requestBody;
    paths[openApiPath(route.path)] = { ...paths[openApiPath(route.path)], [route.method]: operation };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Kasmap REST API",
      version: "0.1.0",
      description:
        "GitLab-compatible REST API for Kubernetes agents, with `cluster_info`: which infrastructure each agent really points at. Paths, bodies, pagination headers and error bodies follow GitLab's `/api/v4`.",
    },
    servers: [{ url: "/" }],
    tags: [...new Set(REST_ROUTES.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: { securitySchemes: SECURITY_SCHEMES, schemas },
  };
}
