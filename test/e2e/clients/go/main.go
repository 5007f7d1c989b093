// Command go-gitlab-drive drives a running Kasmap with go-gitlab (Debian's
// golang-github-xanzy-go-gitlab-dev), as a user would drive GitLab, and prints
// what the client saw as one JSON object on stdout. The TypeScript test
// (go-gitlab-client.e2e.test.ts) builds it in GOPATH mode against Debian's
// /usr/share/gocode and asserts on its output. Any error the client returns
// outside the expected-error checks ends the program with a non-zero status.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"

	gitlab "github.com/xanzy/go-gitlab"
)

// refusal is the status and message of an error the client returns for a call
// GitLab refuses (go-gitlab's ErrorResponse), or nil when the call succeeds.
type refusal struct {
	Status  int    `json:"status"`
	Message string `json:"message"`
}

func refused(_ *gitlab.Response, err error) *refusal {
	if err == nil {
		return nil
	}
	var answer *gitlab.ErrorResponse
	if !errors.As(err, &answer) {
		fail("not a GitLab error", err)
	}
	return &refusal{Status: answer.Response.StatusCode, Message: answer.Message}
}

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
	os.Exit(1)
}

// must ends the program when a call that should succeed fails.
func must[T any](value T, _ *gitlab.Response, err error) T {
	if err != nil {
		fail("unexpected error", err)
	}
	return value
}

func client(token string) *gitlab.Client {
	gl, err := gitlab.NewClient(token, gitlab.WithBaseURL(os.Getenv("KASMAP_URL")))
	if err != nil {
		fail("client", err)
	}
	return gl
}

func main() {
	gl := client(os.Getenv("KASMAP_TOKEN"))
	seen := map[string]any{}

	// Groups, a subgroup, a project; again by id and by URL-encoded full path (the client encodes it).
	group := must(gl.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.String("Go"), Path: gitlab.String("golang")}))
	subgroup := must(gl.Groups.CreateGroup(&gitlab.CreateGroupOptions{
		Name: gitlab.String("Clients"), Path: gitlab.String("clients"), ParentID: gitlab.Int(group.ID),
	}))
	seen["subgroup_full_path"] = must(gl.Groups.GetGroup(subgroup.ID, nil)).FullPath
	seen["subgroup_by_path_id"] = must(gl.Groups.GetGroup("golang/clients", nil)).ID == subgroup.ID
	project := must(gl.Projects.CreateProject(&gitlab.CreateProjectOptions{
		Name: gitlab.String("Infra"), Path: gitlab.String("infra"), NamespaceID: gitlab.Int(subgroup.ID),
	}))
	seen["project_id"] = project.ID
	seen["project_by_id"] = must(gl.Projects.GetProject(project.ID, nil)).PathWithNamespace
	seen["project_by_path_id"] = must(gl.Projects.GetProject("golang/clients/infra", nil)).ID == project.ID

	// Agents through the client's ClusterAgents service; two a page, following X-Next-Page.
	for i := 4; i >= 0; i-- {
		must(gl.ClusterAgents.RegisterAgent(project.ID, &gitlab.RegisterAgentOptions{Name: gitlab.String(fmt.Sprintf("agent-%02d", i))}))
	}
	var agents []*gitlab.Agent
	pages := 0
	for opt := (&gitlab.ListAgentsOptions{PerPage: 2, Page: 1}); opt.Page != 0; pages++ {
		page, resp, err := gl.ClusterAgents.ListAgents(project.ID, opt)
		if err != nil {
			fail("list agents", err)
		}
		agents = append(agents, page...)
		opt.Page = resp.NextPage
	}
	names := []string{}
	for _, agent := range agents {
		names = append(names, agent.Name)
	}
	seen["agent_names"] = names
	seen["agent_pages"] = pages
	first, last := agents[0], agents[len(agents)-1]
	seen["agent_config_project"] = first.ConfigProject.PathWithNamespace
	seen["agent_created_by_user_id"] = first.CreatedByUserID
	seen["agent_get_name"] = must(gl.ClusterAgents.GetAgent(project.ID, first.ID)).Name
	if _, err := gl.ClusterAgents.DeleteAgent(project.ID, last.ID); err != nil {
		fail("delete agent", err)
	}
	seen["after_delete_count"] = len(must(gl.ClusterAgents.ListAgents(project.ID, nil)))

	// Tokens of the first agent: create (shown once), list, get, revoke.
	created := must(gl.ClusterAgents.CreateAgentToken(project.ID, first.ID, &gitlab.CreateAgentTokenOptions{
		Name: gitlab.String("collector"), Description: gitlab.String("from go"),
	}))
	seen["token_prefix"] = created.Token[:8]
	tokenNames := []string{}
	for _, token := range must(gl.ClusterAgents.ListAgentTokens(project.ID, first.ID, nil)) {
		tokenNames = append(tokenNames, token.Name)
	}
	seen["token_list_names"] = tokenNames
	seen["token_get_status"] = must(gl.ClusterAgents.GetAgentToken(project.ID, first.ID, created.ID)).Status
	if _, err := gl.ClusterAgents.RevokeAgentToken(project.ID, first.ID, created.ID); err != nil {
		fail("revoke token", err)
	}
	seen["token_list_after_revoke"] = len(must(gl.ClusterAgents.ListAgentTokens(project.ID, first.ID, nil)))
	_, resp, err := gl.ClusterAgents.GetAgentToken(project.ID, first.ID, created.ID)
	seen["error_revoked_token"] = refused(resp, err)

	// Errors as the client reports them: PRIVATE-TOKEN (empty or unknown) and a Bearer token.
	_, resp, err = gl.ClusterAgents.RegisterAgent(project.ID, &gitlab.RegisterAgentOptions{Name: gitlab.String("Not_Valid")})
	seen["error_invalid_name"] = refused(resp, err)
	_, resp, err = gl.ClusterAgents.GetAgent(project.ID, 999999)
	seen["error_unknown_agent"] = refused(resp, err)
	_, resp, err = gl.Projects.GetProject("golang/nowhere", nil)
	seen["error_unknown_project"] = refused(resp, err)
	_, resp, err = client("").ClusterAgents.ListAgents(project.ID, nil)
	seen["error_no_token"] = refused(resp, err)
	_, resp, err = client("glpat-not-a-token").Users.CurrentUser()
	seen["error_bad_private_token"] = refused(resp, err)
	bearer, err := gitlab.NewOAuthClient("glpat-not-a-token", gitlab.WithBaseURL(os.Getenv("KASMAP_URL")))
	if err != nil {
		fail("client", err)
	}
	_, resp, err = bearer.Users.CurrentUser()
	seen["error_bad_bearer_token"] = refused(resp, err)

	// Audit events through the client's AuditEvents service, decoded into its own struct: GitLab's
	// entity keeps the target, author name, message and entity path inside Details.
	events := must(gl.AuditEvents.ListProjectAuditEvents(project.ID, &gitlab.ListAuditEventsOptions{}))
	seen["audit_event_count"] = len(events)
	entities := map[string]bool{}
	detailTargetTypes := map[string]bool{}
	entityPaths := map[string]bool{}
	messages := map[string]bool{}
	for _, event := range events {
		entities[fmt.Sprintf("%s %d", event.EntityType, event.EntityID)] = true
		detailTargetTypes[event.Details.TargetType] = true
		entityPaths[event.Details.EntityPath] = true
		messages[event.Details.CustomMessage] = true
		if event.Details.AuthorName == "" || event.Details.TargetDetails == "" {
			fail("audit event without author name or target details", fmt.Errorf("event %d", event.ID))
		}
	}
	seen["audit_event_entities"] = keys(entities)
	seen["audit_details_target_types"] = keys(detailTargetTypes)
	seen["audit_details_entity_paths"] = keys(entityPaths)
	seen["audit_details_has_created_message"] = messages[fmt.Sprintf("Created cluster agent '%s' with id %d", first.Name, first.ID)]
	one := must(gl.AuditEvents.GetProjectAuditEvent(project.ID, events[0].ID))
	seen["audit_single_same"] = one.ID == events[0].ID && one.Details.TargetType == events[0].Details.TargetType
	instance := must(gl.AuditEvents.GetInstanceAuditEvent(events[0].ID))
	seen["audit_instance_single_entity"] = fmt.Sprintf("%s %d", instance.EntityType, instance.EntityID)
	_, resp, err = gl.AuditEvents.GetProjectAuditEvent(project.ID, 999999999)
	seen["error_unknown_audit_event"] = refused(resp, err)

	out, err := json.Marshal(seen)
	if err != nil {
		fail("encode", err)
	}
	fmt.Println(string(out))
}

// keys of a set, sorted.
func keys(set map[string]bool) []string {
	list := []string{}
	for key := range set {
		list = append(list, key)
	}
	sort.Strings(list)
	return list
}
