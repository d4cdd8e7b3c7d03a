/**
 * The model host of one serving process: which model versions are loaded, which one answers production
 * requests, and how that changes without a failed request.
 *
 * - Versions load in the background (sha256-verified artifact → session → contract → warm-up → output check) and
 *   are routed to only once ready. A version that fails any step is refused; whatever served keeps serving.
 * - The previous production version stays loaded, so a rollback is a pointer move.
 * - Every request holds a lease on the version it started on for its whole sampling loop; a version leaves
 *   memory only after its last lease ends (drain), so a swap never cuts a request short.
 * - The desired state (production + active experiment versions) comes from the registry through `attach`:
 *   change notifications plus a periodic reconcile, so a missed notification cannot leave the host stale.
 */
import { isServingError, ServingError } from "./errors";
import { type LoadedModel, loadModel } from "./load-model";
import { type ModelHostOptions } from "./model-host";
import { type SampleRequest, type SampleResult, sampleImages } from "./sampler";
import { checkModelOutput, type OutputCheck } from "./verify";

export type ServingTarget = { production: string | null; active?: readonly string[] };

export type VersionState = "loading" | "ready" | "failed" | "draining" | "released";
export type VersionRole = "production" | "previous" | "active" | "unloading";

export type VersionStatus = {
  id: string;
  state: VersionState;
  role: VersionRole | null;
  /** Why loading failed (code + message), kept until a retry succeeds. */
  error: { code: string; message: string } | null;
  requests: number;
  failures: number;
  inFlight: number;
  /** Over the last LATENCY_WINDOW requests. */
  latencyMs: { p50: number | null; p95: number | null };
  loadMs: number | null;
  check: OutputCheck | null;
  readyAt: string | null;
};

export type HostStatus = {
  /** The version production requests go to now. */
  production: string | null;
  /** What the registry says production is; differs from `production` while loading or after a refusal. */
  desiredProduction: string | null;
  previous: string | null;
  isConverged: boolean;
  versions: VersionStatus[];
};

export type HostEvent =
  | { kind: "loading"; versionId: string }
  | { kind: "ready"; versionId: string; loadMs: number }
  | { kind: "refused"; versionId: string; code: string; message: string }
  | { kind: "routed"; versionId: string; from: string | null }
  | { kind: "unloaded"; versionId: string }
  | { kind: "reconcile-error"; message: string };

export type ServingHostOptions = {
  /** Version id → a local folder holding its artifact (the registry's artifact store). */
  resolveArtifact: (versionId: string) => Promise<string>;
  hostOptions?: ModelHostOptions;
  /** Keep the previous production loaded for instant rollback (default true). */
  keepPrevious?: boolean;
  /** A refused version is retried after this long (default 60 s): a transient failure does not stick. */
  retryFailedAfterMs?: number;
  onEvent?: (event: HostEvent) => void;
};

export type GenerateOptions = {
  /** A specific version (an experiment variant); default: production. */
  versionId?: string;
  /** Called after each DDIM step. */
  onStep?: (done: number, total: number) => void;
};

export type GenerateResult = { versionId: string; result: SampleResult };

const LATENCY_WINDOW = 1000;

type Slot = {
  id: string;
  state: VersionState;
  model: LoadedModel | null;
  error: { code: string; message: string } | null;
  failedAt: number;
  leases: number;
  onIdle: (() => void) | null;
  unloading: Promise<void> | null;
  requests: number;
  failures: number;
  latencies: number[];
  loadMs: number | null;
  check: OutputCheck | null;
  readyAt: Date | null;
};

function percentile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? null;
}

export class ServingHost {
  private readonly slots = new Map<string, Slot>();
  private routed: string | null = null;
  private previous: string | null = null;
  private desired: ServingTarget = { production: null, active: [] };
  private chain: Promise<void> = Promise.resolve();
  private isDirty = false;
  private isClosed = false;
  private readonly keepPrevious: boolean;
  private readonly retryFailedAfterMs: number;

  constructor(private readonly options: ServingHostOptions) {
    this.keepPrevious = options.keepPrevious ?? true;
    this.retryFailedAfterMs = options.retryFailedAfterMs ?? 60_000;
  }

  /** The version production requests go to now (null until the first one is ready). */
  get production(): string | null {
    return this.routed;
  }

  /**
   * Sets the desired state and works towards it: loads what is missing (one at a time), routes production once
   * its version is ready, unloads what is no longer needed after it drains. Resolves when that pass is done
   * (loaded or refused); concurrent calls coalesce, and the last target wins.
   */
  apply(target: ServingTarget): Promise<HostStatus> {
    if (this.isClosed)
      return Promise.reject(new ServingError("HOST_RELEASED", "apply() on a closed serving host"));
    this.desired = { production: target.production, active: [...(target.active ?? [])] };
    this.isDirty = true;
    // Passes run one at a time; a pass reads the newest target when it starts, so a queued pass whose target
    // was already handled by an earlier one does nothing.
    const pass = this.chain.then(async () => {
      if (!this.isDirty || this.isClosed) return;
      this.isDirty = false;
      await this.step();
    });
    this.chain = pass.catch(() => {});
    return pass.then(() => this.status());
  }

  private async step(): Promise<void> {
    const { production, active = [] } = this.desired;
    const wanted = [...new Set([production, ...active].filter((v): v is string => v !== null))];
    for (const id of wanted) {
      const slot = this.slots.get(id);
      if (slot?.state === "ready") continue;
      if (slot?.state === "failed" && Date.now() - slot.failedAt < this.retryFailedAfterMs) continue;
      if (slot?.state === "draining") await slot.unloading;
      await this.load(id);
      if (this.isClosed) return;
    }
    if (production !== null && this.slots.get(production)?.state === "ready" && this.routed !== production) {
      const from = this.routed;
      this.routed = production;
      this.previous = this.keepPrevious ? from : null;
      this.options.onEvent?.({ kind: "routed", versionId: production, from });
    }
    if (this.previous !== null && this.slots.get(this.previous)?.state !== "ready") this.previous = null;
    const keep = new Set([this.routed, this.previous, ...active]);
    for (const slot of this.slots.values()) {
      if (slot.state === "ready" && !keep.has(slot.id)) void this.unload(slot);
      if (slot.state === "released" || (slot.state === "failed" && !wanted.includes(slot.id)))
        this.slots.delete(slot.id);
    }
  }

  private async load(id: string): Promise<void> {
    const slot: Slot = this.slots.get(id) ?? {
      id,
      state: "loading",
      model: null,
      error: null,
      failedAt: 0,
      leases: 0,
      onIdle: null,
      unloading: null,
      requests: 0,
      failures: 0,
      latencies: [],
      loadMs: null,
      check: null,
      readyAt: null,
    };
    slot.state = "loading";
    slot.unloading = null;
    this.slots.set(id, slot);
    this.options.onEvent?.({ kind: "loading", versionId: id });
    const started = performance.now();
    let model: LoadedModel | null = null;
    try {
      const dir = await this.options.resolveArtifact(id);
      model = await loadModel(dir, this.options.hostOptions);
      slot.check = await checkModelOutput(model);
      slot.model = model;
      slot.loadMs = performance.now() - started;
      slot.error = null;
      slot.state = "ready";
      slot.readyAt = new Date();
      this.options.onEvent?.({ kind: "ready", versionId: id, loadMs: slot.loadMs });
    } catch (e) {
      await model?.host.release().catch(() => {});
      const code = isServingError(e) ? e.code : "RUNTIME_ERROR";
      const message = e instanceof Error ? e.message : String(e);
      slot.state = "failed";
      slot.model = null;
      slot.error = { code, message };
      slot.failedAt = Date.now();
      this.options.onEvent?.({ kind: "refused", versionId: id, code, message });
    }
  }

  private unload(slot: Slot): Promise<void> {
    if (slot.unloading) return slot.unloading;
    slot.state = "draining";
    const idle = slot.leases === 0 ? Promise.resolve() : new Promise<void>((res) => (slot.onIdle = res));
    slot.unloading = idle
      .then(() => slot.model?.host.release())
      .then(() => {
        slot.model = null;
        slot.onIdle = null;
        if (slot.state === "draining") slot.state = "released";
        this.options.onEvent?.({ kind: "unloaded", versionId: slot.id });
      });
    return slot.unloading;
  }

  /**
   * Samples on production (or `versionId`), holding that version for the whole request. VERSION_NOT_READY when
   * it is not loaded here; INVALID_REQUEST for a bad request. The result names the version that produced it.
   */
  async generate(request: SampleRequest, options: GenerateOptions = {}): Promise<GenerateResult> {
    const id = options.versionId ?? this.routed;
    if (id === null) throw new ServingError("VERSION_NOT_READY", "no production model version is loaded yet");
    const slot = this.slots.get(id);
    if (!slot || slot.state !== "ready" || !slot.model) {
      const why = slot?.error
        ? `: ${slot.error.message}`
        : slot
          ? ` (${slot.state})`
          : " (not loaded on this host)";
      throw new ServingError("VERSION_NOT_READY", `model version ${id} is not ready${why}`);
    }
    const model = slot.model;
    slot.leases++;
    const started = performance.now();
    try {
      const result = await sampleImages(model, request, { onStep: options.onStep });
      slot.requests++;
      slot.latencies.push(performance.now() - started);
      if (slot.latencies.length > LATENCY_WINDOW) slot.latencies.shift();
      return { versionId: id, result };
    } catch (e) {
      slot.failures++;
      throw e;
    } finally {
      slot.leases--;
      if (slot.leases === 0) slot.onIdle?.();
    }
  }

  /** True when `versionId` is loaded and accepting requests. */
  isReady(versionId: string): boolean {
    return this.slots.get(versionId)?.state === "ready";
  }

  /** The manifest of a loaded version (image size, vocabulary…), or null. */
  manifestOf(versionId: string): LoadedModel["manifest"] | null {
    return this.slots.get(versionId)?.model?.manifest ?? null;
  }

  status(): HostStatus {
    const active = new Set(this.desired.active ?? []);
    const versions = [...this.slots.values()].map((s): VersionStatus => {
      const sorted = [...s.latencies].sort((a, b) => a - b);
      const role: VersionRole | null =
        s.id === this.routed
          ? "production"
          : s.id === this.previous
            ? "previous"
            : active.has(s.id)
              ? "active"
              : s.state === "draining"
                ? "unloading"
                : null;
      return {
        id: s.id,
        state: s.state,
        role,
        error: s.error,
        requests: s.requests,
        failures: s.failures,
        inFlight: s.leases,
        latencyMs: { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95) },
        loadMs: s.loadMs,
        check: s.check,
        readyAt: s.readyAt?.toISOString() ?? null,
      };
    });
    const desiredProduction = this.desired.production;
    const isConverged =
      this.routed === desiredProduction &&
      (this.desired.active ?? []).every((v) => this.slots.get(v)?.state === "ready");
    return { production: this.routed, desiredProduction, previous: this.previous, isConverged, versions };
  }

  /**
   * Follows the registry: `fetchTarget` on every change notification and every `reconcileIntervalMs` (default 5 s).
   * `report` receives the status after each pass (a heartbeat for the admin page). Returns `detach`.
   */
  async attach(feed: RegistryFeed, options: AttachOptions = {}): Promise<() => Promise<void>> {
    const interval = options.reconcileIntervalMs ?? 5_000;
    let isDetached = false;
    let pending: Promise<void> | null = null;
    let again = false;
    let hints = 0;
    const sync = (): Promise<void> => {
      if (isDetached) return Promise.resolve();
      if (pending) {
        again = true;
        return pending;
      }
      pending = (async () => {
        do {
          again = false;
          try {
            const seenHints = hints;
            const target = await feed.fetchTarget();
            // A notification that arrived meanwhile may be newer than what this read saw: read again.
            if (seenHints !== hints) {
              again = true;
              continue;
            }
            const status = await this.apply(target);
            await options.report?.(status);
          } catch (e) {
            this.options.onEvent?.({
              kind: "reconcile-error",
              message: e instanceof Error ? e.message : String(e),
            });
          }
        } while (again && !isDetached);
      })().finally(() => (pending = null));
      return pending;
    };
    const unsubscribe = await feed.subscribe((hint) => {
      // An alias notification names the new production: act on it at once, then confirm against the registry.
      if (hint?.production !== undefined && !isDetached) {
        hints++;
        this.apply({ production: hint.production, active: this.desired.active }).catch(() => {});
      }
      void sync();
    });
    const timer = setInterval(() => void sync(), interval);
    timer.unref();
    await sync();
    return async () => {
      isDetached = true;
      clearInterval(timer);
      await unsubscribe();
      await pending;
    };
  }

  /** Stops loading, waits for in-flight requests, releases every session. */
  async close(): Promise<void> {
    this.isClosed = true;
    await this.chain;
    await Promise.all([...this.slots.values()].filter((s) => s.model).map((s) => this.unload(s)));
    this.routed = null;
    this.previous = null;
  }
}

/** Where a host learns the desired state: the registry (production alias + active experiment versions). */
export type RegistryFeed = {
  fetchTarget(): Promise<ServingTarget>;
  /**
   * Calls `onChange` on every registry change notification → an unsubscribe function. `hint.production`, when the
   * notification says where the production alias moved, lets the host swap before re-reading the registry.
   */
  subscribe(onChange: (hint?: { production?: string | null }) => void): Promise<() => Promise<void>>;
};

export type AttachOptions = {
  reconcileIntervalMs?: number;
  report?: (status: HostStatus) => Promise<void>;
};
