import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { classifySourceFailure } from "./source-failure.ts";

/** node-fetch's FetchError as client-node 1.4 throws it when no HTTP answer came. */
function fetchError(message: string, code: string): Error {
  return Object.assign(new Error(message), { type: "system", code, errno: code });
}

describe("classifySourceFailure", () => {
  it.each([
    {
      name: "connection refused",
      error: fetchError(
        "request to https://10.0.0.1:6443/api/v1/nodes failed, reason: connect ECONNREFUSED 10.0.0.1:6443",
        "ECONNREFUSED",
      ),
      expected: {
        kind: "unreachable",
        message:
          "request to https://10.0.0.1:6443/api/v1/nodes failed, reason: connect ECONNREFUSED 10.0.0.1:6443",
      },
    },
    {
      name: "TLS: self-signed certificate",
      error: fetchError(
        "request to https://k8s.example:6443/version failed, reason: self-signed certificate",
        "DEPTH_ZERO_SELF_SIGNED_CERT",
      ),
      expected: { kind: "unreachable", message: expect.stringContaining("self-signed certificate") },
    },
    {
      name: "HTTP 500 with a Status body",
      error: new ApiException(
        500,
        "Unsuccessful HTTP Request",
        { kind: "Status", message: "etcdserver: request timed out" },
        {},
      ),
      expected: { kind: "error", message: "HTTP 500: etcdserver: request timed out" },
    },
    {
      name: "HTTP 401 without a body",
      error: new ApiException(401, "Unsuccessful HTTP Request", undefined, {}),
      expected: { kind: "error", message: "HTTP 401" },
    },
    {
      name: "a body that is not JSON",
      error: new SyntaxError("Unexpected token '<', \"<html>\" is not valid JSON"),
      expected: { kind: "error", message: expect.stringContaining("is not valid JSON") },
    },
    {
      name: "403",
      error: new ApiException(403, "x", { message: "nodes is forbidden" }, {}),
      expected: { kind: "forbidden", message: "nodes is forbidden" },
    },
    { name: "404", error: new ApiException(404, "x", {}, {}), expected: { kind: "not-found" } },
    {
      name: "watch 410",
      error: Object.assign(new Error("Gone"), { statusCode: 410 }),
      expected: { kind: "gone" },
    },
    {
      name: "a kind the group does not serve",
      error: new Error("Unrecognized API version and kind: config.openshift.io/v1 Network"),
      expected: { kind: "not-found" },
    },
  ])("$name", ({ error, expected }) => {
    expect(classifySourceFailure(error)).toEqual(expected);
  });

  it("keeps a huge body short", () => {
    const failure = classifySourceFailure(new ApiException(502, "x", "<html>".repeat(10_000), {}));
    expect(failure.kind).toBe("error");
    expect(failure.kind === "error" && failure.message.length).toBeLessThan(400);
  });
});
