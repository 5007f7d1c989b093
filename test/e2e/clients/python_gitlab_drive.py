"""Drives a running Kasmap with python-gitlab (Debian's python3-gitlab), as a user would drive
GitLab, and prints what the client saw as one JSON object on stdout. The TypeScript test
(python-gitlab-client.e2e.test.ts) asserts on it. Any exception the client raises outside the
expected-error checks ends the script with a traceback and a non-zero status."""
import json
import os

import gitlab

URL = os.environ["KASMAP_URL"]
gl = gitlab.Gitlab(URL, private_token=os.environ["KASMAP_TOKEN"])
seen = {"client_version": gitlab.__version__}


def refused(call):
    """The status and message of a GitlabError the call raises, or None when it succeeds."""
    try:
        call()
    except gitlab.exceptions.GitlabError as error:
        return {"status": error.response_code, "message": error.error_message}
    return None


# Groups, a subgroup, a project; the project again by id and by its URL-encoded full path.
group = gl.groups.create({"name": "Python", "path": "python"})
subgroup = gl.groups.create({"name": "Clients", "path": "clients", "parent_id": group.id})
seen["subgroup_full_path"] = gl.groups.get(subgroup.id).full_path
# GET /groups ("List groups"): the client's own list call, filtered and followed over pages.
seen["groups_listed"] = sorted(g.full_path for g in gl.groups.list(get_all=True, per_page=1, search="python"))
seen["groups_top_level"] = [g.full_path for g in gl.groups.list(get_all=True, top_level_only=True, search="python")]
project = gl.projects.create({"name": "Infra", "path": "infra", "namespace_id": subgroup.id})
seen["project_by_id"] = gl.projects.get(project.id).path_with_namespace
seen["project_by_path_id"] = gl.projects.get("python/clients/infra").id == project.id

# Agents: python-gitlab 3.12 has no agent manager, so its generic HTTP layer is used — the same
# session, headers, JSON decoding, error mapping and Link-following pagination.
agents = f"/projects/{project.id}/cluster_agents"
names = [f"agent-{i:02d}" for i in range(23)]
for name in reversed(names):
    gl.http_post(agents, post_data={"name": name})
listed = gl.http_list(agents, get_all=True)
seen["agent_names"] = [agent["name"] for agent in listed]
seen["agent_keys"] = sorted(listed[0].keys())
first_page = gl.http_list(agents, page=1, per_page=500)
seen["per_page_500_count"] = len(first_page)
one = gl.http_get(f"{agents}/{listed[0]['id']}")
seen["agent_get_name"] = one["name"]
gl.http_delete(f"{agents}/{listed[-1]['id']}")
seen["after_delete_count"] = len(gl.http_list(agents, get_all=True))

# Tokens of the first agent: create (shown once), list, revoke.
tokens = f"{agents}/{listed[0]['id']}/tokens"
created = gl.http_post(tokens, post_data={"name": "collector", "description": "from python"})
seen["token_prefix"] = created["token"][:8]
seen["token_list_names"] = [token["name"] for token in gl.http_list(tokens, get_all=True)]
gl.http_delete(f"{tokens}/{created['id']}")
seen["token_list_after_revoke"] = len(gl.http_list(tokens, get_all=True))

# Errors as the client reports them.
seen["error_invalid_name"] = refused(lambda: gl.http_post(agents, post_data={"name": "Not_Valid"}))
seen["error_unknown_agent"] = refused(lambda: gl.http_get(f"{agents}/999999"))
seen["error_unknown_project"] = refused(lambda: gl.projects.get("python/nowhere"))
anonymous = gitlab.Gitlab(URL)
seen["error_no_token"] = refused(lambda: anonymous.http_get(agents))
stranger = gitlab.Gitlab(URL, private_token="glpat-not-a-token")
seen["error_bad_token"] = refused(lambda: stranger.http_get("/user"))

# Audit events through the client's own manager: GitLab's entity (the target inside `details`),
# one event by id, and keyset pages that the client follows by the `Link: rel="next"` cursor.
audit = gl.projects.get(project.id).audit_events
events = audit.list(get_all=True)
seen["audit_event_count"] = len(events)
seen["audit_event_keys"] = sorted(events[0].attributes.keys() - {"project_id"})
seen["audit_details_target_types"] = sorted({event.details["target_type"] for event in events})
keyset = [
    event.id
    for event in audit.list(iterator=True, pagination="keyset", order_by="id", sort="desc", per_page=5)
]
# The projection may add events between the two listings; it never removes one.
seen["audit_keyset_descending"] = keyset == sorted(keyset, reverse=True) and len(set(keyset)) == len(keyset)
seen["audit_keyset_covers_offset"] = {event.id for event in events} <= set(keyset)
seen["audit_single_same"] = audit.get(events[0].id).details == events[0].details
seen["error_unknown_audit_event"] = refused(lambda: audit.get(999999999))
seen["error_keyset_order"] = refused(
    lambda: audit.list(pagination="keyset", order_by="created_at", sort="asc", get_all=False)
)

print(json.dumps(seen))
