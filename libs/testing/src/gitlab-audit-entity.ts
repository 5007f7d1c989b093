/**
 * The keys of GitLab's REST audit event, sorted, written from gitlab-org/gitlab
 * ee/lib/api/entities/audit_event.rb (`API::Entities::AuditEvent` exposes these and no other;
 * its JSON schema, ee/spec/fixtures/api/schemas/public_api/v4/audit_event.json, allows no
 * additional property). The target, author name, message and entity path live in `details`.
 */
export const GITLAB_AUDIT_EVENT_KEYS = [
  "author_id",
  "created_at",
  "details",
  "entity_id",
  "entity_type",
  "event_name",
  "id",
] as const;
