import { randomUUID } from "node:crypto";
import { type KubeObject, kubeObjectSchema, splitApiVersion } from "./kube-object.ts";
import { findResourceByKind, groupKindKey, type ResourceDescriptor } from "./resource-catalog.ts";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

/** One change, as retained in the bounded history that watches resume from. */
export type StoredEvent = {
  /** The global resourceVersion this change produced. */
  readonly resourceVersion: number;
  readonly groupKind: string;
  readonly type: WatchEventType;
  readonly object: KubeObject;
};

export type ObjectRef = {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string | undefined;
  readonly name: string;
};

export type EventsSince =
  | { readonly expired: false; readonly events: readonly StoredEvent[] }
  | { readonly expired: true; readonly oldestRetained: number };

/**
 * All objects with one global, monotonically increasing resourceVersion (like etcd's revision)
 * and a bounded history of changes. Objects are keyed by group+kind, so the version an object
 * was written with does not decide where it is served.
 */
export class ObjectStore {
  readonly #objects = new Map<string, Map<string, KubeObject>>();
  readonly #listeners = new Set<(event: StoredEvent) => void>();
  #history: StoredEvent[] = [];
  #resourceVersion = 0;
  /** Watches from a resourceVersion below this cannot be served: their events are gone. */
  #compactedThrough = 0;

  constructor(private readonly historyLimit: number) {}

  get resourceVersion(): number {
    return this.#resourceVersion;
  }

  get compactedThrough(): number {
    return this.#compactedThrough;
  }

  upsert(input: unknown): KubeObject {
    const parsed = kubeObjectSchema.parse(input);
    const descriptor = descriptorFor(parsed.apiVersion, parsed.kind);
    const key = objectKey(descriptor, parsed.metadata.namespace, parsed.metadata.name);
    const bucket = this.#bucket(descriptor);
    const previous = bucket.get(key);
    const resourceVersion = ++this.#resourceVersion;
    const object: KubeObject = structuredClone({
      ...parsed,
      metadata: {
        ...parsed.metadata,
        uid: previous?.metadata.uid ?? parsed.metadata.uid ?? randomUUID(),
        creationTimestamp:
          previous?.metadata.creationTimestamp ?? parsed.metadata.creationTimestamp ?? isoSeconds(new Date()),
        resourceVersion: String(resourceVersion),
      },
    });
    // Cluster-scoped objects never carry a namespace, whatever the input said.
    if (!descriptor.namespaced) delete object.metadata.namespace;
    bucket.set(key, object);
    this.#record(descriptor, previous === undefined ? "ADDED" : "MODIFIED", object);
    return structuredClone(object);
  }

  /** Applies `change` to a copy of the current object and stores the result. */
  update(ref: ObjectRef, change: (current: KubeObject) => KubeObject | undefined): KubeObject {
    const current = this.get(ref);
    if (current === undefined) throw new Error(`cannot update ${describeRef(ref)}: it does not exist`);
    const next = change(current) ?? current;
    return this.upsert(next);
  }

  /** Returns whether the object existed. */
  delete(ref: ObjectRef): boolean {
    const descriptor = descriptorFor(ref.apiVersion, ref.kind);
    const bucket = this.#bucket(descriptor);
    const key = objectKey(descriptor, ref.namespace, ref.name);
    const previous = bucket.get(key);
    if (previous === undefined) return false;
    bucket.delete(key);
    // The API server sends the deleted object carrying the resourceVersion of the deletion.
    const resourceVersion = ++this.#resourceVersion;
    const object = structuredClone(previous);
    object.metadata.resourceVersion = String(resourceVersion);
    this.#record(descriptor, "DELETED", object);
    return true;
  }

  get(ref: ObjectRef): KubeObject | undefined {
    const descriptor = descriptorFor(ref.apiVersion, ref.kind);
    const found = this.#bucket(descriptor).get(objectKey(descriptor, ref.namespace, ref.name));
    return found === undefined ? undefined : structuredClone(found);
  }

  /** Objects of one resource, sorted by namespace then name (the order the API server lists in). */
  list(descriptor: ResourceDescriptor): KubeObject[] {
    const bucket = this.#bucket(descriptor);
    return [...bucket.keys()].sort().flatMap((key) => {
      const found = bucket.get(key);
      return found === undefined ? [] : [found];
    });
  }

  hasObjectsInGroup(group: string): boolean {
    for (const [key, bucket] of this.#objects) {
      if (bucket.size > 0 && key.slice(key.indexOf(".") + 1) === group) return true;
    }
    return false;
  }

  /** Changes after `resourceVersion`, or `expired` when some of them were dropped from history. */
  eventsSince(resourceVersion: number, groupKind: string): EventsSince {
    if (resourceVersion < this.#compactedThrough) {
      return { expired: true, oldestRetained: this.#compactedThrough };
    }
    const events = this.#history.filter(
      (e) => e.resourceVersion > resourceVersion && e.groupKind === groupKind,
    );
    return { expired: false, events };
  }

  /**
   * Drops all history. The revision moves on by one, as a real compaction leaves a fresh
   * list able to resume while every older resourceVersion gets `410 Gone`.
   */
  compact(): void {
    this.#resourceVersion += 1;
    this.#compactedThrough = this.#resourceVersion;
    this.#history = [];
  }

  subscribe(listener: (event: StoredEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #record(descriptor: ResourceDescriptor, type: WatchEventType, object: KubeObject): void {
    const event: StoredEvent = {
      resourceVersion: this.#resourceVersion,
      groupKind: groupKindKey(descriptor.group, descriptor.kind),
      type,
      object,
    };
    this.#history.push(event);
    if (this.#history.length > this.historyLimit) {
      const dropped = this.#history.splice(0, this.#history.length - this.historyLimit);
      const lastDropped = dropped.at(-1);
      if (lastDropped !== undefined) this.#compactedThrough = lastDropped.resourceVersion;
    }
    for (const listener of [...this.#listeners]) listener(event);
  }

  #bucket(descriptor: ResourceDescriptor): Map<string, KubeObject> {
    const key = groupKindKey(descriptor.group, descriptor.kind);
    let bucket = this.#objects.get(key);
    if (bucket === undefined) {
      bucket = new Map();
      this.#objects.set(key, bucket);
    }
    return bucket;
  }
}

function descriptorFor(apiVersion: string, kind: string): ResourceDescriptor {
  const { group } = splitApiVersion(apiVersion);
  const descriptor = findResourceByKind(group, kind);
  if (descriptor === undefined) {
    throw new Error(`the simulator does not serve kind ${kind} in ${apiVersion}`);
  }
  return descriptor;
}

function objectKey(descriptor: ResourceDescriptor, namespace: string | undefined, name: string): string {
  if (!descriptor.namespaced) return name;
  if (namespace === undefined || namespace === "") {
    throw new Error(`${descriptor.kind} ${name} is namespaced but has no metadata.namespace`);
  }
  return `${namespace}/${name}`;
}

function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace === undefined ? "" : `${ref.namespace}/`}${ref.name}`;
}

/** Kubernetes timestamps are RFC 3339 with second precision. */
export function isoSeconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
