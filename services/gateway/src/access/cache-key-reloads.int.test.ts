import { digestToken } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { lookUpPrincipal } from "../auth/authenticate.ts";
import { findProject, projectCacheKey, projectOfCacheKey } from "../read-model/registry-queries.ts";
import { readModelForFile } from "../testing/read-model-for-file.ts";
import { principalOfKey } from "./standalone-access.ts";

const readModel = readModelForFile();
const CREATED = new Date("2026-12-01T10:00:00.000Z");

/**
 * The caches reload an entry by its key alone (`refreshDue`), never holding a token: the answer
 * must be the one a read with the credential or the id would load.
 */
describe("reloads by cache key", () => {
  it("reloads a principal from its key's digest, as a lookup with the token does", async () => {
    const { db } = readModel;
    await db
      .insertInto("read_model.users")
      .values({ id: 5, username: "ada", name: "Ada", is_admin: false, state: "active", created_at: CREATED })
      .execute();
    await db
      .insertInto("read_model.personal_access_tokens")
      .values({
        id: 9,
        user_id: 5,
        name: "ci",
        token_sha256: digestToken("glpat-secret"),
        scopes: ["read_api"],
        revoked: false,
        expires_at: "2027-01-01",
        created_at: CREATED,
      })
      .execute();
    const withToken = await lookUpPrincipal(db, { kind: "personal_access_token", token: "glpat-secret" });
    expect(withToken?.kind).toBe("user");
    expect(await principalOfKey(db, `personal_access_token:${digestToken("glpat-secret")}`)).toEqual(
      withToken,
    );
    expect(await principalOfKey(db, `job_token:${digestToken("glpat-secret")}`)).toBeNull();
    expect(await principalOfKey(db, `personal_access_token:${digestToken("another")}`)).toBeNull();
    await expect(principalOfKey(db, "session:abc")).rejects.toThrow(/not a principals cache key/);
    await expect(principalOfKey(db, "no-colon")).rejects.toThrow(/not a principals cache key/);
  });

  it("reloads a project from an id or a lower-case path key, as findProject does", async () => {
    const { db } = readModel;
    await db
      .insertInto("read_model.projects")
      .values({
        id: 3,
        name: "Web",
        path: "Web",
        description: null,
        namespace_id: 1,
        traversal_ids: [1],
        path_with_namespace: "Acme/Web",
        name_with_namespace: "Acme / Web",
        creator_id: null,
        created_at: CREATED,
      })
      .execute();
    const byId = await findProject(db, { kind: "id", id: 3 });
    expect(byId?.id).toBe(3);
    expect(await projectOfCacheKey(db, "id:3")).toEqual(byId);
    expect(await projectOfCacheKey(db, "path:acme/web")).toEqual(byId);
    // The keys the readers build are the ones the reload reads back.
    expect(projectCacheKey({ kind: "path", path: "Acme/Web" })).toBe("path:acme/web");
    expect(await projectOfCacheKey(db, projectCacheKey({ kind: "id", id: 3 }))).toEqual(byId);
    expect(await projectOfCacheKey(db, "id:4")).toBeNull();
    await expect(projectOfCacheKey(db, "3")).rejects.toThrow(/not a projects cache key/);
  });
});
