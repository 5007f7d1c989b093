import { randomUUID } from "node:crypto";
import { z } from "zod";

/**
 * CloudEvents 1.0 envelope, JSON structured mode. `type` carries the version
 * (`io.kasmap.cluster.snapshot.v1`); `subject` is the NATS subject the event is published on.
 * The NATS header `Nats-Msg-Id` equals `id`, so a re-publish inside the stream's duplicate
 * window is dropped by the server.
 */
export const CloudEventEnvelopeSchema = z.object({
  specversion: z.literal("1.0"),
  id: z.string().min(1).max(128),
  source: z.string().min(1),
  type: z.string().regex(/^io\.kasmap\.[a-z_.]+\.v[0-9]+$/),
  subject: z.string().min(1),
  time: z.iso.datetime({ offset: true }),
  datacontenttype: z.literal("application/json"),
  data: z.unknown(),
});
export type CloudEventEnvelope = z.infer<typeof CloudEventEnvelopeSchema>;

export type CloudEvent<TType extends string, TData> = Omit<CloudEventEnvelope, "type" | "data"> & {
  type: TType;
  data: TData;
};

export type NewEventInput<TType extends string, TData> = {
  type: TType;
  source: string;
  subject: string;
  data: TData;
  /** Deterministic ids make re-publishing idempotent (the server drops duplicates). */
  id?: string;
  time?: Date;
};

export function newCloudEvent<TType extends string, TData>(
  input: NewEventInput<TType, TData>,
): CloudEvent<TType, TData> {
  return {
    specversion: "1.0",
    id: input.id ?? randomUUID(),
    source: input.source,
    type: input.type,
    subject: input.subject,
    time: (input.time ?? new Date()).toISOString(),
    datacontenttype: "application/json",
    data: input.data,
  };
}
