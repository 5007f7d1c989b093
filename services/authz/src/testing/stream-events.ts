import type { Bus } from "@kasmap/bus";
import { type KasmapEvent, KasmapEventSchema } from "@kasmap/contracts";

/** Every event of `stream` stored after `fromSeq`. */
async function eventsAfter(bus: Bus, stream: string, fromSeq: number): Promise<KasmapEvent[]> {
  const info = await bus.jsm.streams.info(stream);
  const events: KasmapEvent[] = [];
  for (let seq = Math.max(fromSeq + 1, info.state.first_seq); seq <= info.state.last_seq; seq++) {
    const message = await bus.jsm.streams.getMessage(stream, { seq });
    if (message) events.push(KasmapEventSchema.parse(message.json()));
  }
  return events;
}

/**
 * Runs `action` and returns the registry and authz events stored meanwhile (a command's events
 * are published before it answers).
 */
export async function eventsOf(
  bus: Bus,
  action: () => Promise<unknown>,
): Promise<{ registry: KasmapEvent[]; authz: KasmapEvent[] }> {
  const { registry, authz } = bus.topology.streamNames;
  const before = {
    registry: (await bus.jsm.streams.info(registry)).state.last_seq,
    authz: (await bus.jsm.streams.info(authz)).state.last_seq,
  };
  await action();
  return {
    registry: await eventsAfter(bus, registry, before.registry),
    authz: await eventsAfter(bus, authz, before.authz),
  };
}
