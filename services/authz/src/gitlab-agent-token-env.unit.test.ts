import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { gitlabAgentTokenOptionsFromEnv } from "./gitlab-agent-token-env.ts";

const secret = randomBytes(32);
const dir = mkdtempSync(join(tmpdir(), "kas-secret-"));
const goodFile = join(dir, ".gitlab_kas_secret");
writeFileSync(goodFile, `${secret.toString("base64")}\n`, { mode: 0o600 });
const shortFile = join(dir, "short");
writeFileSync(shortFile, randomBytes(8).toString("base64"));

const env = (url: string | undefined, file: string | undefined) => ({
  KASMAP_GITLAB_URL: url,
  KASMAP_GITLAB_KAS_SECRET: file,
  KASMAP_GITLAB_PERMISSION_TTL_SECONDS: 60,
  KASMAP_GITLAB_TIMEOUT_MS: 10_000,
});

describe("KASMAP_GITLAB_KAS_SECRET", () => {
  it("unset: the option is off", () => {
    expect(gitlabAgentTokenOptionsFromEnv(env("https://gitlab.example.com", undefined))).toBeNull();
  });

  it("reads GitLab's secret file for an https GitLab, with the permission TTL", () => {
    const options = gitlabAgentTokenOptionsFromEnv(env("https://gitlab.example.com", goodFile));
    expect(options).toMatchObject({
      gitlabUrl: "https://gitlab.example.com",
      ttlSeconds: 60,
      timeoutMs: 10_000,
    });
    expect(options?.kasSecret.equals(secret)).toBe(true);
  });

  it.each([
    ["http://127.0.0.1:8080", true],
    ["http://localhost", true],
    ["http://[::1]:3000", true],
    ["http://gitlab.example.com", false],
    ["http://10.0.0.5", false],
  ])("over plain http, %s is allowed: %s (loopback only)", (url, allowed) => {
    const read = () => gitlabAgentTokenOptionsFromEnv(env(url, goodFile));
    if (allowed) expect(read()).not.toBeNull();
    else expect(read).toThrow(/agent tokens travel only over TLS/);
  });

  it("refuses without GitLab mode, an unreadable file and one GitLab would refuse, never showing its content", () => {
    expect(() => gitlabAgentTokenOptionsFromEnv(env(undefined, goodFile))).toThrow(/needs KASMAP_GITLAB_URL/);
    expect(() => gitlabAgentTokenOptionsFromEnv(env("https://g.example", join(dir, "absent")))).toThrow(
      /cannot read .*absent \(ENOENT\)/,
    );
    expect(() => gitlabAgentTokenOptionsFromEnv(env("https://g.example", shortFile))).toThrow(
      /holds 8 bytes, GitLab needs 32/,
    );
  });
});
