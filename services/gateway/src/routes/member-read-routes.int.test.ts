import { gitlabMemberBody } from "@kasmap/testing";
import { describe, expect, it } from "vitest";
import {
  gatewayFixtureForFile,
  IDS,
  PROJECT,
  ROOT_GROUP,
  SUB_GROUP,
  TOKENS,
} from "../testing/gateway-fixture.ts";

/**
 * GitLab's member reads against the fixture's read model: the developer is a member of the root
 * group (30, inherited by the subgroup and the project), the reporter of the project (20).
 */
const f = gatewayFixtureForFile();

async function answer(path: string, token: string = TOKENS.reporter) {
  const response = await f.call(path, { token });
  return { status: response.status, body: await response.json(), total: response.headers.get("x-total") };
}

const developer = gitlabMemberBody({ id: IDS.developer, username: "developer", access_level: 30 });
const reporter = gitlabMemberBody({ id: IDS.reporter, username: "reporter", access_level: 20 });

describe("GET …/members", () => {
  it("lists a project's direct members, and with /all those of the groups above", async () => {
    expect(await answer(`/api/v4/projects/${PROJECT}/members`)).toEqual({
      status: 200,
      body: [reporter],
      total: "1",
    });
    expect(await answer(`/api/v4/projects/${PROJECT}/members/all`)).toEqual({
      status: 200,
      body: [developer, reporter],
      total: "2",
    });
  });

  it("lists a group's direct members, and with /all its ancestors' members", async () => {
    expect((await answer(`/api/v4/groups/${SUB_GROUP}/members`, TOKENS.developer)).body).toEqual([]);
    expect((await answer(`/api/v4/groups/${SUB_GROUP}/members/all`, TOKENS.developer)).body).toEqual([
      developer,
    ]);
    expect((await answer(`/api/v4/groups/${ROOT_GROUP}/members`, TOKENS.admin)).body).toEqual([developer]);
  });

  it("filters by user_ids and query, and pages as GitLab", async () => {
    const all = `/api/v4/projects/${PROJECT}/members/all`;
    expect((await answer(`${all}?user_ids=${IDS.reporter},${IDS.admin}`)).body).toEqual([reporter]);
    // Grape names the array parameter, not its element.
    expect(await answer(`${all}?user_ids=abc`)).toMatchObject({
      status: 400,
      body: { error: "user_ids is invalid" },
    });
    expect((await answer(`${all}?query=DEVEL`)).body).toEqual([developer]);
    expect((await answer(`${all}?query=%25`)).body).toEqual([]);
    const second = await answer(`${all}?per_page=1&page=2`);
    expect(second).toEqual({ status: 200, body: [reporter], total: "2" });
    expect(await answer(`${all}?per_page=1&page=5`)).toEqual({ status: 200, body: [], total: "2" });
  });

  it("answers one member: direct on /members/:user_id, inherited too on /members/all/:user_id", async () => {
    const project = `/api/v4/projects/${PROJECT}`;
    expect(await answer(`${project}/members/${IDS.reporter}`)).toMatchObject({ status: 200, body: reporter });
    expect(await answer(`${project}/members/${IDS.developer}`)).toMatchObject({
      status: 404,
      body: { message: "404 Not found" },
    });
    expect(await answer(`${project}/members/all/${IDS.developer}`)).toMatchObject({
      status: 200,
      body: developer,
    });
    expect(await answer(`${project}/members/abc`)).toMatchObject({
      status: 400,
      body: { error: "user_id is invalid" },
    });
  });

  it("hides the members of what the caller cannot see, as a missing project or group", async () => {
    expect(await answer(`/api/v4/projects/${PROJECT}/members`, TOKENS.outsider)).toMatchObject({
      status: 404,
      body: { message: "404 Project Not Found" },
    });
    expect(await answer(`/api/v4/groups/${ROOT_GROUP}/members/all`, TOKENS.outsider)).toMatchObject({
      status: 404,
      body: { message: "404 Group Not Found" },
    });
  });
});
