import { eventually } from "@kasmap/testing/harness";
import { ok } from "@kasmap/testing/system";
import { expect, it } from "vitest";
import { groupWithProject, kasmapSystemForFile } from "./system-for-file.ts";

/**
 * Issue 7.7: a job token has a maximum lifetime even while its job is never finished (a
 * forgotten or leaked token of a job that never reported back). This gateway allows 5 s; the
 * token must work at once and be refused well within 30 s — without the limit it never is.
 */
const ADMIN = "glpat-admin-job-lifetime-test";
const LIFETIME_MS = 5_000;
const system = kasmapSystemForFile({ adminToken: ADMIN, gateway: { jobTokenMaxLifetimeMs: LIFETIME_MS } });

it("refuses a running job's token once the maximum lifetime has passed", async () => {
  const { projectId } = await groupWithProject(system, ADMIN, { group: "A", project: "p" });
  const job = await ok<{ token: string }>(
    system.call("POST", `/api/v4/projects/${projectId}/jobs`, ADMIN, {}),
    201,
  );
  const allowedAgents = () =>
    system.call("GET", "/api/v4/job/allowed_agents", job.token, undefined, "job-token");
  expect((await allowedAgents()).status).toBe(200);
  await eventually(
    async () => ((await allowedAgents()).status === 401 ? true : undefined),
    "job token refused",
    30_000,
  );
});
