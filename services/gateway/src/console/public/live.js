import { apiCall } from "./api.js";

/**
 * The CloudEvent types the live stream names in `event:` (`EVENT_TYPES` in libs/contracts; a
 * unit test keeps the two equal). `EventSource` delivers a named event only to its own listener.
 */
export const LIVE_EVENT_TYPES = [
  "io.kasmap.cluster.snapshot.v1",
  "io.kasmap.cluster.heartbeat.v1",
  "io.kasmap.authz.changed.v1",
  "io.kasmap.registry.group.changed.v1",
  "io.kasmap.registry.project.changed.v1",
  "io.kasmap.registry.user.changed.v1",
  "io.kasmap.registry.membership.changed.v1",
  "io.kasmap.registry.personal_access_token.changed.v1",
  "io.kasmap.registry.agent.changed.v1",
  "io.kasmap.registry.agent.refused.v1",
  "io.kasmap.registry.agent_token.changed.v1",
  "io.kasmap.registry.job.changed.v1",
  "io.kasmap.alert.cluster_changed.v1",
  "io.kasmap.alert.cluster_conflict.v1",
];

/** Waits before the n-th retry: 1 s, 2 s, 4 s … at most 30 s. @param {number} attempt */
export function retryDelayMs(attempt) {
  return Math.min(30_000, 1_000 * 2 ** Math.max(0, attempt - 1));
}

/**
 * Follows the live event stream as the signed-in user. A browser's `EventSource` cannot send the
 * token header, so each connection first asks for a single-use ticket (`POST
 * /api/v4/-/kasmap/live/tickets`) and opens `/api/v4/events/stream?ticket=…`. On any failure the
 * stream is closed and opened again with a new ticket after `retryDelayMs`; `onState` reports
 * "connecting", "live" or "retrying" (with the sentence of what went wrong). Answers a stop function.
 * @param {{ token: string, agentId?: number, onEvent: (event: { type: string, data: any }) => void, onState: (state: "connecting" | "live" | "retrying", why?: string) => void }} options
 */
export function followLive({ token, agentId, onEvent, onState }) {
  let stopped = false;
  let attempt = 0;
  /** @type {EventSource | null} */
  let source = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;

  const retry = (/** @type {string} */ why) => {
    source?.close();
    source = null;
    if (stopped) return;
    attempt += 1;
    onState("retrying", why);
    timer = setTimeout(open, retryDelayMs(attempt));
  };

  const open = async () => {
    if (stopped) return;
    if (attempt === 0) onState("connecting");
    let ticket;
    try {
      ticket = (await apiCall(token, "POST", "/api/v4/-/kasmap/live/tickets", "open the live stream")).body
        .ticket;
    } catch (error) {
      return retry(error instanceof Error ? error.message : String(error));
    }
    if (stopped) return;
    const query = new URLSearchParams({ ticket });
    if (agentId !== undefined) query.set("agent_id", String(agentId));
    source = new EventSource(`/api/v4/events/stream?${query}`);
    source.onopen = () => {
      attempt = 0;
      onState("live");
    };
    source.onerror = () => retry("The connection to the live stream was lost.");
    for (const type of LIVE_EVENT_TYPES) {
      source.addEventListener(type, (message) => {
        try {
          onEvent({ type, data: JSON.parse(/** @type {MessageEvent} */ (message).data) });
        } catch {
          // A frame that is not JSON is not ours to show.
        }
      });
    }
  };

  void open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    source?.close();
  };
}
