import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

const PUBLIC_DIRECTORY = fileURLToPath(new URL("./public/", import.meta.url));
const require = createRequire(import.meta.url);
/** The `dist` folder of an installed package (both ship their ES modules there). */
const distDirectory = (name: string) => dirname(require.resolve(name));

const JAVASCRIPT = "text/javascript; charset=utf-8";

/** The console's own files: revalidated on every load (an ETag makes that a 304). */
const APP_FILES = [
  "app.js",
  "api.js",
  "ui.js",
  "live.js",
  "address-query.js",
  "provenance.js",
  "timeline.js",
  "error-sentence.js",
  "verify-command.js",
  "page-sign-in.js",
  "page-search.js",
  "page-inventory.js",
  "page-agent.js",
  "page-verify.js",
  "agent-authorization.js",
  "agent-diagram.js",
  "agent-timeline.js",
] as const;

/**
 * Vendored ES modules, copied from the exact versions pinned in the gateway's package.json:
 * Preact, its hooks, and htm (templates without a build step). Served by this allow-list only.
 */
const VENDOR_FILES: Readonly<Record<string, () => string>> = {
  "preact.mjs": () => join(distDirectory("preact"), "preact.mjs"),
  "hooks.mjs": () => join(distDirectory("preact"), "../hooks/dist/hooks.mjs"),
  "htm.mjs": () => join(distDirectory("htm"), "htm.mjs"),
};

type ConsoleFile = { body: Buffer; contentType: string; etag: string; cacheControl: string };

/** One served file, read once at start-up (the console is small: a few hundred kB in all). */
function consoleFile(path: string, contentType: string, cacheControl: string): ConsoleFile {
  const body = readFileSync(path);
  const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
  return { body, contentType, etag, cacheControl };
}

/** The import map inside index.html, whose hash the CSP allows (it is the page's only inline script). */
function importMapHash(html: string): string {
  const match = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html);
  if (!match?.[1]) throw new Error("console index.html has no import map");
  return `'sha256-${createHash("sha256").update(match[1]).digest("base64")}'`;
}

/**
 * The console's Content-Security-Policy: everything from this origin only, no inline code but
 * the import map (by hash), no plugins, no framing, no `<base>` rewrites.
 */
export function consoleContentSecurityPolicy(importMap: string): string {
  return [
    "default-src 'self'",
    `script-src 'self' ${importMap}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * `GET /-/console` (the page) and `GET /-/console/:file` (its scripts, style and vendored
 * libraries, by allow-list; anything else is GitLab's `404`). The console reads only the public
 * REST API and the live stream with the user's own token, so it shows nothing the user could not
 * read. Never forwarded to GitLab (a Kasmap path, `route-modes.ts`). Headers: the CSP above,
 * `nosniff`, no referrer, no framing; app files `no-cache` with an ETag, vendor files cached a day.
 */
export function registerConsoleRoutes(app: FastifyInstance): void {
  const indexHtml = readFileSync(join(PUBLIC_DIRECTORY, "index.html"), "utf8");
  const policy = consoleContentSecurityPolicy(importMapHash(indexHtml));
  const page = consoleFile(join(PUBLIC_DIRECTORY, "index.html"), "text/html; charset=utf-8", "no-cache");
  const files = new Map<string, ConsoleFile>();
  for (const name of APP_FILES)
    files.set(name, consoleFile(join(PUBLIC_DIRECTORY, name), JAVASCRIPT, "no-cache"));
  files.set(
    "console.css",
    consoleFile(join(PUBLIC_DIRECTORY, "console.css"), "text/css; charset=utf-8", "no-cache"),
  );
  for (const [name, path] of Object.entries(VENDOR_FILES)) {
    files.set(name, consoleFile(path(), JAVASCRIPT, "public, max-age=86400"));
  }

  const send = (request: FastifyRequest, reply: FastifyReply, file: ConsoleFile) => {
    reply.headers({
      "content-security-policy": policy,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "x-frame-options": "DENY",
      "cross-origin-opener-policy": "same-origin",
      "cache-control": file.cacheControl,
      etag: file.etag,
    });
    if (request.headers["if-none-match"] === file.etag) return reply.code(304).send();
    return reply.type(file.contentType).send(file.body);
  };

  app.get("/-/console", (request, reply) => send(request, reply, page));
  app.get<{ Params: { file: string } }>("/-/console/:file", (request, reply) => {
    const file = files.get(request.params.file);
    if (!file) return reply.callNotFound();
    return send(request, reply, file);
  });
}
