import { describe, expect, it } from "vitest";
import { createGitLabClient, DEFAULT_MAX_BODY_BYTES } from "./client.ts";
import { GitLabUserSchema } from "./schemas.ts";
import { apiFailure } from "./testing/api-failure.ts";

const TOKEN = "glpat-body-limit-secret";
const FILE_PATH = "/projects/7/repository/files/.gitlab%2Fagents%2Fevil%2Fconfig.yaml/raw";

/**
 * A body served `chunkBytes` at a time, `chunks` chunks in all, with
 * what the reader pulled and whether it cancelled the stream.
 */
function servedBody(options: { chunkBytes: number; chunks: number; contentLength?: number }) {
  const served = { pulled: 0, bytes: 0, cancelled: false, fetches: 0 };
  const fetchStub: typeof fetch = async () => {
    served.fetches += 1;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (served.pulled >= options.chunks) return controller.close();
        served.pulled += 1;
        served.bytes += options.chunkBytes;
        controller.enqueue(new Uint8Array(options.chunkBytes).fill(0x61));
      },
      cancel() {
        served.cancelled = true;
      },
    });
    const headers = new Headers({ "content-type": "text/plain" });
    if (options.contentLength !== undefined) headers.set("content-length", String(options.contentLength));
    return new Response(body, { status: 200, headers });
  };
  return { served, fetchStub };
}

function clientWith(fetchStub: typeof fetch, maxBodyBytes?: number) {
  return createGitLabClient({
    baseUrl: "https://gitlab.example.com",
    token: TOKEN,
    timeoutMs: 2_000,
    retryBaseDelayMs: 1,
    fetch: fetchStub,
    ...(maxBodyBytes === undefined ? {} : { maxBodyBytes }),
  });
}

describe("GitLab client body limit", () => {
  it("refuses a Content-Length over raw's maxBytes before reading, cancels the body, never retries", async () => {
    const { served, fetchStub } = servedBody({ chunkBytes: 64 * 1024, chunks: 24, contentLength: 1_572_864 });
    const error = await apiFailure(clientWith(fetchStub).raw(FILE_PATH, { maxBytes: 270_336 }));
    expect(error).toMatchObject({ kind: "too_large", status: 200, bodyBytes: 1_572_864 });
    expect(error.message).toBe(
      `GET /api/v4${FILE_PATH}: GitLab's answer is over the limit of 270336 bytes (Content-Length 1572864)`,
    );
    expect(error.message).not.toContain(TOKEN);
    expect(served).toMatchObject({ cancelled: true, fetches: 1 });
    expect(served.bytes).toBeLessThanOrEqual(64 * 1024);
  });

  it("stops reading a body without Content-Length once it grows past the limit", async () => {
    // 4 MiB served 16 KiB at a time (the integration test serves an endless one).
    const { served, fetchStub } = servedBody({ chunkBytes: 16 * 1024, chunks: 256 });
    const error = await apiFailure(clientWith(fetchStub).raw(FILE_PATH, { maxBytes: 100_000 }));
    expect(error).toMatchObject({ kind: "too_large", bodyBytes: null });
    expect(error.message).toBe(`GET /api/v4${FILE_PATH}: GitLab's answer is over the limit of 100000 bytes`);
    expect(served.cancelled).toBe(true);
    expect(served.fetches).toBe(1);
    // The limit plus the chunk that crossed it, and what the stream had queued ahead.
    expect(served.bytes).toBeLessThanOrEqual(100_000 + 3 * 16 * 1024);
  });

  it("reads a body up to the limit, whatever its chunks split (UTF-8 across chunk boundaries)", async () => {
    const text = `ci_access: {} # ${"é".repeat(5_000)}\n`;
    const bytes = new TextEncoder().encode(text);
    const fetchStub: typeof fetch = async () => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let at = 0; at < bytes.length; at += 777) controller.enqueue(bytes.subarray(at, at + 777));
          controller.close();
        },
      });
      return new Response(body, { status: 200 });
    };
    const file = await clientWith(fetchStub).raw(FILE_PATH, { maxBytes: bytes.length });
    expect(file?.body).toBe(text);
  });

  it("applies the client-wide maxBodyBytes to get() and pages(), and caps raw's larger maxBytes at it", async () => {
    const big = () => servedBody({ chunkBytes: 1024, chunks: 8 }).fetchStub;
    const client = (stub: typeof fetch) => clientWith(stub, 4096);
    expect((await apiFailure(client(big()).get("/user", GitLabUserSchema))).kind).toBe("too_large");
    const pages = client(big()).pages("/groups", GitLabUserSchema)[Symbol.asyncIterator]();
    expect((await apiFailure(pages.next())).kind).toBe("too_large");
    const raw = await apiFailure(client(big()).raw(FILE_PATH, { maxBytes: 1_000_000 }));
    expect(raw.message).toContain("over the limit of 4096 bytes");
  });

  it("reports no body size from the Content-Length of a compressed answer", async () => {
    const { fetchStub } = servedBody({ chunkBytes: 1024, chunks: 1, contentLength: 500_000 });
    const compressed: typeof fetch = async (...args) => {
      const response = await fetchStub(...args);
      response.headers.set("content-encoding", "gzip");
      return response;
    };
    const error = await apiFailure(clientWith(compressed).raw(FILE_PATH, { maxBytes: 100_000 }));
    expect(error).toMatchObject({ kind: "too_large", bodyBytes: null });
    expect(error.message).toContain("(Content-Length 500000)");
  });

  it("defaults to 32 MiB", async () => {
    expect(DEFAULT_MAX_BODY_BYTES).toBe(32 * 1024 * 1024);
    const { fetchStub } = servedBody({
      chunkBytes: 1024,
      chunks: 1,
      contentLength: DEFAULT_MAX_BODY_BYTES + 1,
    });
    const error = await apiFailure(clientWith(fetchStub).get("/user", GitLabUserSchema));
    expect(error).toMatchObject({ kind: "too_large", bodyBytes: DEFAULT_MAX_BODY_BYTES + 1 });
  });
});
