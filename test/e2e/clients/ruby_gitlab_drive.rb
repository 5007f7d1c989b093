# Drives a running Kasmap with the gitlab gem (Debian's ruby-gitlab), as a user would drive
# GitLab, and prints what the client saw as one JSON object on stdout. The TypeScript test
# (ruby-gitlab-client.e2e.test.ts) asserts on it. Any exception the client raises outside the
# expected-error checks ends the script with a backtrace and a non-zero status.
require 'json'
require 'gitlab'

ENDPOINT = "#{ENV.fetch('KASMAP_URL')}/api/v4"
gl = Gitlab.client(endpoint: ENDPOINT, private_token: ENV.fetch('KASMAP_TOKEN'))
seen = { client_version: Gitlab::VERSION }

# The status and the message the gem raises for a call GitLab refuses (the gem's own sentence,
# which names the request URI: the endpoint is replaced so the test need not know the port), or
# nil when the call succeeds.
def refused
  yield
  nil
rescue Gitlab::Error::ResponseError => e
  { status: e.response_status, message: e.message.sub(ENDPOINT, '<endpoint>') }
end

# Every item of a list, following the Link headers page after page, and how many pages it took.
def all_pages(first_page)
  pages = first_page.to_enum(:each_page).to_a
  { items: pages.flat_map(&:to_a), pages: pages.size }
end

# Groups, a subgroup, a project; again by id and by URL-encoded full path (the gem encodes it).
group = gl.create_group('Ruby', 'ruby')
subgroup = gl.create_group('Clients', 'clients', parent_id: group.id)
seen[:subgroup_full_path] = gl.group(subgroup.id).full_path
seen[:subgroup_by_path_id] = gl.group('ruby/clients').id == subgroup.id
project = gl.create_project('Infra', path: 'infra', namespace_id: subgroup.id)
seen[:project_by_id] = gl.project(project.id).path_with_namespace
seen[:project_by_path_id] = gl.project('ruby/clients/infra').id == project.id

# Agents: gitlab 4.17 has no cluster agent methods, so the gem's generic HTTP layer is used (the
# same form-encoded bodies, auth header, JSON decoding, error mapping and Link-following pages).
agents = "/projects/#{project.id}/cluster_agents"
names = (0...5).map { |i| format('agent-%02d', i) }
names.reverse_each { |name| gl.post(agents, body: { name: name }) }
listed = all_pages(gl.get(agents, query: { per_page: 2 }))
seen[:agent_names] = listed[:items].map(&:name)
seen[:agent_pages] = listed[:pages]
seen[:agent_keys] = listed[:items].first.to_h.keys.sort
first = listed[:items].first
seen[:agent_get_name] = gl.get("#{agents}/#{first.id}").name
gl.delete("#{agents}/#{listed[:items].last.id}")
seen[:after_delete_count] = gl.get(agents).auto_paginate.size

# Tokens of the first agent: create (shown once), list, revoke.
tokens = "#{agents}/#{first.id}/tokens"
created = gl.post(tokens, body: { name: 'collector', description: 'from ruby' })
seen[:token_prefix] = created.token[0, 8]
seen[:token_list_names] = gl.get(tokens).auto_paginate.map(&:name)
gl.delete("#{tokens}/#{created.id}")
seen[:token_list_after_revoke] = gl.get(tokens).auto_paginate.size

# Errors as the gem reports them. Tokens shorter than 21 characters go in PRIVATE-TOKEN, longer
# ones as `Authorization: Bearer` (the gem's rule), so both headers are tried.
seen[:error_invalid_name] = refused { gl.post(agents, body: { name: 'Not_Valid' }) }
seen[:error_unknown_agent] = refused { gl.get("#{agents}/999999") }
seen[:error_unknown_project] = refused { gl.project('ruby/nowhere') }
seen[:error_no_token] = refused { gl.get(agents, unauthenticated: true) }
short_stranger = Gitlab.client(endpoint: ENDPOINT, private_token: 'glpat-not-a-token')
seen[:error_bad_private_token] = refused { short_stranger.user }
long_stranger = Gitlab.client(endpoint: ENDPOINT, private_token: 'glpat-not-a-token-but-long-enough')
seen[:error_bad_bearer_token] = refused { long_stranger.user }

# Audit events: gitlab 4.17 has no audit event methods either; the generic layer again.
events = gl.get("/projects/#{project.id}/audit_events").auto_paginate
seen[:audit_event_count] = events.size
seen[:audit_event_entities] = events.map { |event| [event.entity_type, event.entity_id] }.uniq
# GitLab's entity keeps the target inside `details` (issue 10 item 5).
seen[:audit_details_target_types] = events.map { |event| event.details['target_type'] }.uniq.sort
# Keyset pages: the gem follows `Link: rel="next"` with GitLab's cursor.
keyset = all_pages(gl.get("/projects/#{project.id}/audit_events",
                          query: { pagination: 'keyset', order_by: 'id', sort: 'desc', per_page: 2 }))
keyset_ids = keyset[:items].map(&:id)
seen[:audit_keyset_descending] = keyset_ids == keyset_ids.sort.reverse && keyset_ids.uniq.size == keyset_ids.size
# The projection may add events between the two listings; it never removes one.
seen[:audit_keyset_covers_offset] = (events.map(&:id) - keyset_ids).empty?
seen[:audit_keyset_more_than_one_page] = keyset[:pages] > 1
seen[:audit_single_id] = gl.get("/projects/#{project.id}/audit_events/#{events.first.id}").id == events.first.id
seen[:error_unknown_audit_event] = refused { gl.get("/projects/#{project.id}/audit_events/999999999") }
seen[:project_id] = project.id

puts JSON.generate(seen)
