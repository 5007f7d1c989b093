import type { OpenApiDocument, OpenApiOperation } from "@kasmap/contracts";

/**
 * A self-contained HTML page (no scripts, no CDN: it must work on closed networks) generated
 * from the OpenAPI document: operations grouped by tag, with their parameters and example
 * request and response bodies.
 */
export function renderDocsPage(document: OpenApiDocument): string {
  const byTag = new Map<string, string[]>();
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const tag = operation.tags[0] ?? "other";
      byTag.set(tag, [...(byTag.get(tag) ?? []), renderOperation(method, path, operation)]);
    }
  }
  const sections = [...byTag].map(
    ([tag, items]) =>
      `<section id="${escapeHtml(tag)}"><h2>${escapeHtml(tag)}</h2>${items.join("")}</section>`,
  );
  const toc = [...byTag.keys()]
    .map((tag) => `<a href="#${escapeHtml(tag)}">${escapeHtml(tag)}</a>`)
    .join(" · ");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(document.info.title)}</title>
<style>${STYLE}</style></head>
<body><h1>${escapeHtml(document.info.title)} <small>${escapeHtml(document.info.version)}</small></h1>
<p>${escapeHtml(document.info.description)}</p>
<p>Authentication: <code>PRIVATE-TOKEN: &lt;token&gt;</code>, <code>Authorization: Bearer &lt;token&gt;</code> or <code>JOB-TOKEN: &lt;token&gt;</code>. Machine-readable: <a href="/api/v4/openapi.json">openapi.json</a>, <a href="/api/v4/asyncapi.json">asyncapi.json</a>.</p>
<nav>${toc}</nav>
${sections.join("\n")}
</body></html>
`;
}

function renderOperation(method: string, path: string, operation: OpenApiOperation): string {
  const params = operation.parameters.map(
    (p) =>
      `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${p.in}</td><td>${p.required ? "yes" : "no"}</td><td>${escapeHtml(describeSchema(p.schema))}</td><td>${escapeHtml(p.description ?? "")}</td></tr>`,
  );
  const paramTable = params.length
    ? `<table><tr><th>parameter</th><th>in</th><th>required</th><th>type</th><th>description</th></tr>${params.join("")}</table>`
    : "";
  const request = operation.requestBody?.content["application/json"]?.example;
  const [status, success] = Object.entries(operation.responses)[0] ?? ["", undefined];
  const response = Object.values(success?.content ?? {})[0]?.example;
  const errors = Object.keys(operation.responses).filter((code) => code !== status);
  return `<article><h3><span class="method ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h3>
<p>${escapeHtml(operation.summary)}${operation.security.length ? "" : " <em>(no token needed)</em>"}</p>
${paramTable}
${request === undefined ? "" : `<h4>Example request body</h4><pre>${escapeHtml(JSON.stringify(request, null, 2))}</pre>`}
<h4>Response ${escapeHtml(status)}</h4>${response === undefined ? "" : `<pre>${escapeHtml(JSON.stringify(response, null, 2))}</pre>`}
<p class="errors">Errors: ${errors.join(", ")} (GitLab bodies: <code>{"message": "…"}</code>)</p></article>`;
}

function describeSchema(schema: Record<string, unknown>): string {
  if (Array.isArray(schema.enum)) return schema.enum.join(" | ");
  return typeof schema.type === "string" ? schema.type : "value";
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code,pre{font-family:ui-monospace,monospace}pre{background:#f4f4f4;padding:.6rem;overflow:auto;max-height:24rem}
article{border-top:1px solid #ddd;padding:.4rem 0}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}
.method{font-weight:bold;padding:0 .3rem;border-radius:3px;color:#fff;background:#555}.get{background:#1f6feb}.post{background:#2da44e}
.put{background:#bf8700}.delete{background:#cf222e}.errors{color:#666;font-size:90%}`;
