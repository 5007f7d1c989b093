import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { DEFAULT_VERSION_INFO, type VersionInfo } from "./discovery.ts";
import { joinApiVersion, type KubeObject } from "./kube-object.ts";
import { buildKubeconfig, type KubeconfigOptions } from "./kubeconfig.ts";
import { loadObjectsFromDirectory } from "./load-objects.ts";
import { type ObjectRef, ObjectStore } from "./object-store.ts";
import type { AccessRule } from "./rbac.ts";
import {
  type HandlerContext,
  handleRequest,
  type InjectedFault,
  type RequestLogEntry,
} from "./request-handler.ts";
import type { ResourceDescriptor } from "./resource-catalog.ts";
import type { OpenWatch } from "./watch-stream.ts";

export type KubeSimulatorOptions = {
  /** Merged over a realistic v1.33 `/version` body. */
  readonly version?: Partial<VersionInfo>;
  /** Bearer token → user name. When set, any other request gets `401 Unauthorized`. */
  readonly bearerTokens?: Readonly<Record<string, string>>;
  /** User name when `bearerTokens` is not set. Default `system:anonymous`. */
  readonly anonymousUser?: string;
  /** When set, only what these rules allow is served; the rest is `403 Forbidden`. Default: allow all. */
  readonly rules?: readonly AccessRule[];
  /** Changes kept for watch resumption; older resourceVersions get `410 Gone`. Default 1000. */
  readonly historyLimit?: number;
  /** Milliseconds between BOOKMARK events on watches that allow them. Default 60000. */
  readonly bookmarkIntervalMs?: number;
  /** Group versions to hide, e.g. `["networking.k8s.io/v1"]` to act like a cluster before 1.33. */
  readonly disabledGroupVersions?: readonly string[];
};

export type StartOptions = { readonly port?: number; readonly host?: string };
export type StartedSimulator = { readonly url: string; readonly port: number };

/**
 * A Kubernetes API server for tests: real HTTP, the real JSON and watch wire format, enough
 * discovery for kubectl, bearer-token authentication and allow-list RBAC. Objects change only
 * through the in-process methods below; each change bumps the global resourceVersion and
 * reaches open watches.
 */
export class KubeSimulator {
  readonly #store: ObjectStore;
  readonly #watches = new Set<OpenWatch>();
  readonly #requests: RequestLogEntry[] = [];
  readonly #requestListeners = new Set<(entry: RequestLogEntry) => void>();
  readonly #faults = new Map<string, InjectedFault>();
  readonly #context: HandlerContext;
  #server: Server | undefined;
  #url: string | undefined;

  constructor(options: KubeSimulatorOptions = {}) {
    this.#store = new ObjectStore(options.historyLimit ?? 1000);
    const disabled = new Set(options.disabledGroupVersions ?? []);
    const served = (d: ResourceDescriptor, version: string): boolean =>
      !disabled.has(joinApiVersion(d.group, version)) &&
      (!d.onlyWhenGroupHasObjects || this.#store.hasObjectsInGroup(d.group));
    this.#context = {
      store: this.#store,
      versionInfo: { ...DEFAULT_VERSION_INFO, ...options.version },
      bearerTokens: options.bearerTokens,
      anonymousUser: options.anonymousUser ?? "system:anonymous",
      rules: options.rules,
      served,
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
      serverAddress: () => (this.#url ?? "http://127.0.0.1:0").replace(/^http:\/\//, ""),
      watches: this.#watches,
      onRequest: (entry) => {
        this.#requests.push(entry);
        for (const listener of [...this.#requestListeners]) listener(entry);
      },
      faultFor: (path) => this.#faults.get(path),
    };
  }

  /** Listens on `host` (default 127.0.0.1) and `port` (default 0: any free port). */
  async start(options: StartOptions = {}): Promise<StartedSimulator> {
    if (this.#server !== undefined) throw new Error("the simulator is already started");
    const server = createServer((request, response) => handleRequest(this.#context, request, response));
    const host = options.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    this.#server = server;
    this.#url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    return { url: this.#url, port };
  }

  /** The base URL; throws before `start()`. */
  get url(): string {
    if (this.#url === undefined) throw new Error("the simulator is not started");
    return this.#url;
  }

  /** Ends every watch and connection, then stops listening. */
  async close(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    this.dropWatches();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Writes a kubeconfig (YAML) whose current context points at this simulator. */
  async writeKubeconfig(path: string, options: KubeconfigOptions = {}): Promise<void> {
    await writeFile(path, buildKubeconfig(this.url, options), { mode: 0o600 });
  }

  /** Creates or replaces an object; returns it as stored (with uid and resourceVersion). */
  upsert(object: unknown): KubeObject {
    return this.#store.upsert(object);
  }

  /** Returns whether the object existed. */
  delete(apiVersion: string, kind: string, namespace: string | undefined, name: string): boolean {
    return this.#store.delete({ apiVersion, kind, namespace, name });
  }

  /** Changes an object through `change`, which gets a copy and may mutate it or return a new one. */
  update(ref: ObjectRef, change: (current: KubeObject) => KubeObject | undefined): KubeObject {
    return this.#store.update(ref, change);
  }

  patchNode(name: string, change: (node: KubeObject) => KubeObject | undefined): KubeObject {
    return this.update({ apiVersion: "v1", kind: "Node", name }, change);
  }

  get(ref: ObjectRef): KubeObject | undefined {
    return this.#store.get(ref);
  }

  /** Loads a folder of JSON/YAML objects (see `loadObjectsFromDirectory`); returns how many. */
  async loadFromDirectory(directory: string): Promise<number> {
    const objects = await loadObjectsFromDirectory(directory);
    for (const object of objects) this.#store.upsert(object);
    return objects.length;
  }

  /** The current global resourceVersion. */
  get resourceVersion(): string {
    return String(this.#store.resourceVersion);
  }

  /** Drops the watch history: the next resume from any earlier resourceVersion gets `410 Gone`. */
  compactHistory(): void {
    this.#store.compact();
  }

  /**
   * Closes every open watch. `graceful` (default) ends the chunked body as an API server does on
   * shutdown; `abrupt` destroys the socket, like a cut network.
   */
  dropWatches(mode: "graceful" | "abrupt" = "graceful"): void {
    for (const watch of [...this.#watches]) watch.close(mode);
  }

  /**
   * Answers every request for exactly `path` (e.g. `/version`, `/api/v1/nodes`) with `status`
   * and `body` instead of serving it, like a broken API server or a proxy in front of it, until
   * {@link clearFault}. A string body is sent as is (`text/html`), anything else as JSON.
   */
  injectFault(path: string, status: number, body: unknown): void {
    const text = typeof body === "string" ? body : JSON.stringify(body);
    const contentType = typeof body === "string" ? "text/html" : "application/json";
    this.#faults.set(path, { status, body: text, contentType });
  }

  clearFault(path: string): void {
    this.#faults.delete(path);
  }

  /** Number of watches currently open. */
  get openWatchCount(): number {
    return this.#watches.size;
  }

  /**
   * Calls `listener` for every request once its answer is decided and before it is sent, so a
   * test can change the cluster between two requests of one client, e.g. compact the history
   * between the pages of a list. Returns a function that removes the listener.
   */
  onRequest(listener: (entry: RequestLogEntry) => void): () => void {
    this.#requestListeners.add(listener);
    return () => this.#requestListeners.delete(listener);
  }

  /** Every request served so far, oldest first. */
  get requests(): readonly RequestLogEntry[] {
    return this.#requests;
  }
}
