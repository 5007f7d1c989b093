import {
  boundSubject,
  boundSubjectId,
  collectorSubjectToken,
  EVENT_BINDINGS,
  type EventType,
  type KasmapEvent,
  type Topology,
} from "@kasmap/contracts";
import { buildClusterFacts, oneEventOfEachType, testEvents } from "@kasmap/testing";
import { FORGERY_AGENT, FORGERY_PROJECT } from "./forgery-world.ts";
import { FORGED_COLLECTOR_ID, type PublishTarget } from "./publish-targets.ts";

/**
 * Test-only: what the forgery tests (issue 7.1) publish on one subject an identity may publish.
 * Every event type but the one bound to the subject, each a valid event whose envelope names
 * that subject and whose data names the subject's id; and, for the bound type, the same event
 * about another aggregate (wrong id) and with another subject in its envelope. Each comes with
 * the problem its dead letter's reason must name.
 */
export type Forgery = { label: string; event: KasmapEvent; problem: RegExp };

export const EVENT_TYPE_LIST = Object.keys(EVENT_BINDINGS) as EventType[];

const literally = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The collector token the subject ends with (a replica's heartbeat subject), else null. */
function subjectCollectorToken(topology: Topology, target: PublishTarget): string | null {
  if (target.boundType === null) return null;
  const bound = boundSubjectId(topology.root, target.boundType, target.subject);
  return bound.ok ? bound.collectorToken : null;
}

/**
 * A collector id whose subject token is `token` (`mine`) or is not: `FORGED_COLLECTOR_ID`, or it
 * with the first suffix that gives the wanted token (16 tokens: a few tries at most).
 */
function collectorIdFor(token: string, mine: boolean): string {
  for (let n = 0; ; n++) {
    const id = n === 0 ? FORGED_COLLECTOR_ID : `${FORGED_COLLECTOR_ID}-${n}`;
    if ((collectorSubjectToken(id) === token) === mine) return id;
  }
}

/** The aggregate id the subject names for its bound type, else the agent's. */
function subjectId(topology: Topology, target: PublishTarget): number {
  if (target.boundType === null) return FORGERY_AGENT;
  const bound = boundSubjectId(topology.root, target.boundType, target.subject);
  return bound.ok ? bound.id : FORGERY_AGENT;
}

/** Why `type` may not be applied from `target`: another stream, or another subject of this one. */
function wrongTypeProblem(type: EventType, target: PublishTarget): RegExp {
  const subject = literally(target.subject);
  return EVENT_BINDINGS[type].stream !== target.stream
    ? new RegExp(`type ${literally(type)} belongs to the ${EVENT_BINDINGS[type].stream} stream`)
    : new RegExp(
        `type ${literally(type)} belongs on \\S+, not on ${subject}$|subject ${subject} names no aggregate id`,
      );
}

/** A valid event of `type` about the agent, with its envelope naming `subject`. */
export function forgedEvent(topology: Topology, type: EventType, subject: string): KasmapEvent {
  return { ...oneEventOfEachType(topology, FORGERY_AGENT)[type], subject };
}

export function forgeriesOn(topology: Topology, target: PublishTarget): Forgery[] {
  const id = subjectId(topology, target);
  const onSubject = (event: KasmapEvent): KasmapEvent => ({ ...event, subject: target.subject });
  const ofEachType = oneEventOfEachType(topology, id);
  const forgeries = EVENT_TYPE_LIST.filter((type) => type !== target.boundType).map((type) => ({
    label: `${type} on ${target.subject}`,
    event: onSubject(ofEachType[type]),
    problem: wrongTypeProblem(type, target),
  }));
  if (target.boundType === null) return forgeries;
  const type = target.boundType;
  const other = id + 1;
  const token = subjectCollectorToken(topology, target);
  // On a replica's own heartbeat subject, a heartbeat naming a collector of another token (issue 11).
  const otherCollector =
    token === null
      ? []
      : [
          {
            label: `${type} of another collector on ${target.subject}`,
            event: onSubject(
              testEvents(topology).heartbeat(id, new Date().toISOString(), collectorIdFor(token, false)),
            ),
            problem: new RegExp(
              `data names collector \\S+ \\(token [0-9a-f]+\\), subject ${literally(target.subject)} names ${token}`,
            ),
          },
        ];
  return [
    ...forgeries,
    ...otherCollector,
    {
      label: `${type} about ${other} on ${target.subject}`,
      event: onSubject(oneEventOfEachType(topology, other)[type]),
      problem: new RegExp(`data names ${other}, subject ${literally(target.subject)} names ${id}`),
    },
    {
      label: `${type} on ${target.subject} naming another subject in its envelope`,
      event: { ...ofEachType[type], subject: boundSubject(topology.root, type, other) },
      problem: new RegExp(`envelope subject \\S+ differs from the NATS subject ${literally(target.subject)}`),
    },
  ];
}

/**
 * A correctly typed event for the bound subject `target`, valid in the forgery world's
 * registry (the agent, its project, group and user exist), so the projection applies it.
 */
export function controlEvent(
  topology: Topology,
  target: PublishTarget & { boundType: EventType },
): KasmapEvent {
  const id = subjectId(topology, target);
  const e = testEvents(topology);
  const { id: projectId, groupId, userId } = FORGERY_PROJECT;
  switch (target.boundType) {
    case "io.kasmap.cluster.snapshot.v1":
      return e.snapshot(id, buildClusterFacts({ cluster_name: "control" }));
    case "io.kasmap.cluster.heartbeat.v1": {
      const token = subjectCollectorToken(topology, target);
      return token === null
        ? e.heartbeat(id, new Date().toISOString(), "control")
        : {
            ...e.heartbeat(id, new Date().toISOString(), collectorIdFor(token, true)),
            subject: target.subject,
          };
    }
    case "io.kasmap.authz.changed.v1":
      return e.authz(id, projectId, {
        ci_access: { projects: [], groups: [] },
        user_access: { projects: [], groups: [] },
      });
    case "io.kasmap.registry.group.changed.v1":
      return e.group(id, "control");
    case "io.kasmap.registry.project.changed.v1":
      return e.project(id, groupId);
    case "io.kasmap.registry.user.changed.v1":
      return e.user(id);
    case "io.kasmap.registry.membership.changed.v1":
      return e.membership({
        id,
        user_id: userId,
        source_type: "project",
        source_id: projectId,
        access_level: 30,
      });
    case "io.kasmap.registry.personal_access_token.changed.v1":
      return e.personalAccessToken(id, userId);
    case "io.kasmap.registry.agent.changed.v1":
      return e.agent(id, projectId);
    case "io.kasmap.registry.agent_token.changed.v1":
      return e.agentToken(id, FORGERY_AGENT);
    case "io.kasmap.registry.job.changed.v1":
      return e.job(id, projectId);
    case "io.kasmap.registry.agent.refused.v1":
      return e.agentChangeRefused(id);
    case "io.kasmap.alert.cluster_changed.v1":
      return e.clusterChangedAlert(id, projectId);
    case "io.kasmap.alert.cluster_conflict.v1":
      return e.clusterConflictAlert(id, projectId);
  }
}
