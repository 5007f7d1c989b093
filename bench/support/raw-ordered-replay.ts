/**
 * The audit-replay bench's baseline, run as its own process like the CLI it is compared with:
 * connects, reads every message of the given streams with one ordered consumer each
 * (concurrently, up to what each held at the start), counts them and exits. No parsing, no
 * output: the least any replay of those streams must do.
 *
 * Run: node --import tsx bench/support/raw-ordered-replay.ts <root> <stream name>…
 */
import { connectBus } from "@kasmap/bus";
import { createTopology } from "@kasmap/contracts";

const [root, ...streams] = process.argv.slice(2);
if (!root || streams.length === 0) throw new Error("usage: raw-ordered-replay.ts <root> <stream>…");
const bus = await connectBus({
  url: process.env.NATS_URL ?? "nats://127.0.0.1:4222",
  name: "raw-ordered-replay",
  topology: createTopology(root),
});
const counts = await Promise.all(
  streams.map(async (stream) => {
    const info = await bus.jsm.streams.info(stream);
    if (info.state.messages === 0) return 0;
    const consumer = await bus.js.consumers.get(stream);
    const messages = await consumer.consume();
    let count = 0;
    for await (const message of messages) {
      count++;
      if (message.seq >= info.state.last_seq) break;
    }
    messages.stop();
    await consumer.delete().catch(() => false);
    return count;
  }),
);
await bus.close();
console.log(counts.reduce((a, b) => a + b, 0));
