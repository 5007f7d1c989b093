export const LIVE_EVENT_TYPES: readonly string[];
export function retryDelayMs(attempt: number): number;
export function followLive(options: {
  token: string;
  agentId?: number;
  onEvent: (event: { type: string; data: unknown }) => void;
  onState: (state: "connecting" | "live" | "retrying", why?: string) => void;
}): () => void;
