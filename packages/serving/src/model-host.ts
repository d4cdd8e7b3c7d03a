/**
 * ONNX Runtime host for one model version. Owns one InferenceSession created with explicit thread
 * settings, checks the graph against the project's ONNX contract, warms up, counts in-flight runs
 * and drains them on release(). Hot swap / rollback (issue #7) compose several hosts; this class
 * stays a single-session building block.
 *
 * The contract (ARCHITECTURE.md): inputs `tokens` int64 [N, L], `x` float32 [N, H, W, 3] (NHWC,
 * pixels in [-1, 1]), `t` float32 [N] (integer timestep as float); output `eps` float32 [N, H, W, 3].
 */
import * as ort from "onnxruntime-node";

import { ServingError } from "./errors";

export const CONTRACT_INPUTS = { tokens: "tokens", x: "x", t: "t" } as const;
export const CONTRACT_OUTPUT = "eps";
export const IMAGE_CHANNELS = 3;

export type GraphOptimizationLevel = "disabled" | "basic" | "extended" | "all";

export type ModelHostOptions = {
  /** Threads inside one op. Default 2: ORT's default picked 1 thread on the 2-core VM, ~1.6× slower. */
  intraOpNumThreads?: number;
  /** Threads across independent ops (only used in parallel execution mode). Default 1. */
  interOpNumThreads?: number;
  /** Default "all" (includes the NCHWc conv layout rewrite that makes CPU convs fast). */
  graphOptimizationLevel?: GraphOptimizationLevel;
  /**
   * Whether idle intra-op threads spin-wait (ORT's default, true). Spinning shaves latency on an
   * idle machine but burns the core another process (the trainer) needs; on the shared 2-core VM
   * B32 forwards were ~25% faster without it while training ran.
   */
  allowSpinning?: boolean;
  /** Batch size of the warm-up forward run by `ModelHost.create`; 0 skips warm-up. Default 1. */
  warmUpBatch?: number;
};

/** Sizes the graph must agree with; from the model manifest. */
export type ModelShape = { imageSize: number; contextLength: number };

/** One forward: tokens [N*L] int64, x [N*H*W*3] float32, t [N] float32. */
export type ForwardInput = { batch: number; tokens: BigInt64Array; x: Float32Array; t: Float32Array };

export const DEFAULT_HOST_OPTIONS: Required<ModelHostOptions> = {
  intraOpNumThreads: 2,
  interOpNumThreads: 1,
  graphOptimizationLevel: "all",
  allowSpinning: true,
  warmUpBatch: 1,
};

function checkThreads(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1 || v > 256)
    throw new RangeError(`${name} must be an integer in [1, 256], got ${v}`);
}

/** Checks one declared dim: symbolic (string) dims are accepted, numeric ones must equal `want` when given. */
function dimMatches(actual: number | string | undefined, want: number | undefined): boolean {
  return want === undefined || typeof actual === "string" || actual === want || actual === -1;
}

function checkContract(session: ort.InferenceSession, shape: ModelShape): void {
  const { imageSize: s, contextLength: l } = shape;
  const expectIn: Record<string, { type: string; dims: (number | undefined)[] }> = {
    [CONTRACT_INPUTS.tokens]: { type: "int64", dims: [undefined, l] },
    [CONTRACT_INPUTS.x]: { type: "float32", dims: [undefined, s, s, IMAGE_CHANNELS] },
    [CONTRACT_INPUTS.t]: { type: "float32", dims: [undefined] },
  };
  const expectOut = { [CONTRACT_OUTPUT]: { type: "float32", dims: [undefined, s, s, IMAGE_CHANNELS] } };
  const problems: string[] = [];
  const check = (
    metas: readonly ort.InferenceSession.ValueMetadata[],
    names: readonly string[],
    want: typeof expectIn,
    kind: string,
  ) => {
    for (const [name, spec] of Object.entries(want)) {
      if (!names.includes(name)) {
        problems.push(`missing ${kind} "${name}" (graph has ${names.join(", ")})`);
        continue;
      }
      const meta = metas.find((m) => m.name === name);
      if (!meta?.isTensor) continue; // metadata unavailable: the first run will fail loudly instead
      if (meta.type !== spec.type) problems.push(`${kind} "${name}" is ${meta.type}, expected ${spec.type}`);
      if (meta.shape.length > 0) {
        const ok =
          meta.shape.length === spec.dims.length && spec.dims.every((d, i) => dimMatches(meta.shape[i], d));
        if (!ok)
          problems.push(
            `${kind} "${name}" has shape [${meta.shape.join(", ")}], expected [N, ${spec.dims.slice(1).join(", ")}]`,
          );
      }
    }
  };
  check(session.inputMetadata, session.inputNames, expectIn, "input");
  check(session.outputMetadata, session.outputNames, expectOut, "output");
  const extra = session.inputNames.filter((n) => !(n in expectIn));
  if (extra.length) problems.push(`unexpected inputs ${extra.join(", ")}`);
  if (problems.length)
    throw new ServingError(
      "CONTRACT_MISMATCH",
      `ONNX graph breaks the tokens/x/t → eps contract: ${problems.join("; ")}`,
    );
}

export class ModelHost {
  private inFlight = 0;
  private released = false;
  private releasing: Promise<void> | null = null;
  private drained: (() => void) | null = null;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly shape: ModelShape,
    readonly options: Required<ModelHostOptions>,
  ) {}

  /**
   * Creates a session from a file path or the model bytes, checks the contract against `shape`,
   * and runs one warm-up forward (ORT's first run pays for kernel selection and arena growth).
   */
  static async create(
    source: string | Uint8Array,
    shape: ModelShape,
    options: ModelHostOptions = {},
  ): Promise<ModelHost> {
    const opts = { ...DEFAULT_HOST_OPTIONS, ...options };
    checkThreads("intraOpNumThreads", opts.intraOpNumThreads);
    checkThreads("interOpNumThreads", opts.interOpNumThreads);
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: ["cpu"],
      intraOpNumThreads: opts.intraOpNumThreads,
      interOpNumThreads: opts.interOpNumThreads,
      graphOptimizationLevel: opts.graphOptimizationLevel,
      executionMode: opts.interOpNumThreads > 1 ? "parallel" : "sequential",
      logSeverityLevel: 3,
      // Flattened by ORT into the session config entry "session.intra_op.allow_spinning".
      extra: { session: { intra_op: { allow_spinning: opts.allowSpinning ? "1" : "0" } } },
    };
    let session: ort.InferenceSession;
    try {
      session =
        typeof source === "string"
          ? await ort.InferenceSession.create(source, sessionOptions)
          : await ort.InferenceSession.create(source, sessionOptions);
    } catch (cause) {
      throw new ServingError("RUNTIME_ERROR", `ONNX Runtime could not load the model: ${String(cause)}`, {
        cause,
      });
    }
    const host = new ModelHost(session, shape, opts);
    try {
      checkContract(session, shape);
      if (opts.warmUpBatch > 0) await host.warmUp(opts.warmUpBatch);
    } catch (e) {
      await session.release();
      throw e;
    }
    return host;
  }

  get isReleased(): boolean {
    return this.released;
  }

  /** Number of forward calls currently running (what a drain waits for). */
  get activeRuns(): number {
    return this.inFlight;
  }

  /** One ε-prediction: input as in ForwardInput → eps [N*H*W*3] float32 (NHWC). */
  async forward(input: ForwardInput): Promise<Float32Array> {
    if (this.released) throw new ServingError("HOST_RELEASED", "forward() on a released model host");
    const { batch: n, tokens, x, t } = input;
    const { imageSize: s, contextLength: l } = this.shape;
    const pix = s * s * IMAGE_CHANNELS;
    if (!Number.isInteger(n) || n < 1)
      throw new ServingError("INVALID_REQUEST", `batch must be a positive integer, got ${n}`);
    if (tokens.length !== n * l || x.length !== n * pix || t.length !== n) {
      throw new ServingError(
        "INVALID_REQUEST",
        `forward input sizes tokens ${tokens.length}, x ${x.length}, t ${t.length} do not fit batch ${n} (L ${l}, ${s}×${s}×3)`,
      );
    }
    this.inFlight++;
    try {
      const out = await this.session.run({
        [CONTRACT_INPUTS.tokens]: new ort.Tensor("int64", tokens, [n, l]),
        [CONTRACT_INPUTS.x]: new ort.Tensor("float32", x, [n, s, s, IMAGE_CHANNELS]),
        [CONTRACT_INPUTS.t]: new ort.Tensor("float32", t, [n]),
      });
      const eps = out[CONTRACT_OUTPUT];
      if (
        !eps ||
        eps.type !== "float32" ||
        !(eps.data instanceof Float32Array) ||
        eps.data.length !== n * pix
      ) {
        throw new ServingError(
          "CONTRACT_MISMATCH",
          `output "${CONTRACT_OUTPUT}" is not float32 [${n}, ${s}, ${s}, 3]`,
        );
      }
      return eps.data;
    } catch (e) {
      if (e instanceof ServingError) throw e;
      throw new ServingError("RUNTIME_ERROR", `ONNX Runtime run failed: ${String(e)}`, { cause: e });
    } finally {
      this.inFlight--;
      if (this.inFlight === 0 && this.drained) this.drained();
    }
  }

  /** Runs `batch` forwards-worth of zeros (empty prompts, mid-schedule t) to warm the session. */
  async warmUp(batch = 1): Promise<void> {
    const { imageSize: s, contextLength: l } = this.shape;
    await this.forward({
      batch,
      tokens: new BigInt64Array(batch * l),
      x: new Float32Array(batch * s * s * IMAGE_CHANNELS),
      t: new Float32Array(batch).fill(500),
    });
  }

  /**
   * Stops accepting forwards, waits for the in-flight ones, then frees the native session.
   * Idempotent: later calls resolve once the first has finished.
   */
  release(): Promise<void> {
    if (this.releasing) return this.releasing;
    this.released = true;
    const drain =
      this.inFlight > 0 ? new Promise<void>((resolve) => (this.drained = resolve)) : Promise.resolve();
    this.releasing = drain.then(() => this.session.release());
    return this.releasing;
  }
}
