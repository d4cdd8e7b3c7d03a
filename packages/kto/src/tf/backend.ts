/**
 * tfjs backend selection for training: `@tensorflow/tfjs-node-gpu` (when it loads and sees a GPU)
 * → `@tensorflow/tfjs-node` → `@tensorflow/tfjs` + `@tensorflow/tfjs-backend-wasm` → the pure-JS
 * `cpu` backend. The two native packages are optional dependencies whose addons cannot install on
 * these machines, so loading them throws and we fall back, recording why in `notes`.
 * Platform notes: the wasm backend is single-threaded in Node (use data-parallel workers for more
 * cores), and the cpu backend is ~300× slower for conv backward and its ResizeNearestNeighborGrad is
 * wrong for batch > 1 — never use it as a gradient reference for resize ops.
 */
import * as tf from "@tensorflow/tfjs";

import { KtoError } from "../errors";

export const BACKEND_PREFERENCES = ["auto", "tensorflow-gpu", "tensorflow", "wasm", "cpu"] as const;
/** "auto" tries every backend in order; a named one tries that backend only. */
export type BackendPreference = (typeof BACKEND_PREFERENCES)[number];

export type BackendInfo = {
  /** The tfjs namespace to use (the one kto's ops run on). */
  readonly tf: typeof tf;
  /** tfjs backend name: "tensorflow" (node / node-gpu), "wasm" or "cpu". */
  readonly backend: string;
  /** The npm package that provided it. */
  readonly package: string;
  /** Whether the fast custom gradients are in use (always true: they are correct on every backend). */
  readonly customGradients: boolean;
  /** Why earlier candidates were skipped, and caveats of the chosen one. For run metadata / logs. */
  readonly notes: readonly string[];
};

type Candidate = { pref: Exclude<BackendPreference, "auto">; pkg: string; load: () => Promise<string> };

const errText = (e: unknown): string =>
  (e instanceof Error ? e.message : String(e)).split("\n")[0]?.slice(0, 240) ?? "";

/** Loads a native tfjs-node flavour; returns the backend name it registered into our tfjs engine. */
async function loadNode(pkg: string, needGpu: boolean): Promise<string> {
  const mod = (await import(pkg)) as { backend?: () => unknown };
  if (!tf.findBackend("tensorflow")) {
    throw new Error(
      `${pkg} loaded but registered its backend in another tfjs-core instance (version mismatch?)`,
    );
  }
  if (!(await tf.setBackend("tensorflow")))
    throw new Error(`${pkg}: setBackend("tensorflow") returned false`);
  if (needGpu) {
    const b = (mod.backend?.() ?? tf.backend()) as {
      isUsingGpuDevice?: () => boolean;
      binding?: { isUsingGpuDevice?: () => boolean };
    };
    const usesGpu = b.isUsingGpuDevice?.() ?? b.binding?.isUsingGpuDevice?.() ?? false;
    if (!usesGpu) throw new Error(`${pkg} loaded but sees no GPU`);
  }
  return "tensorflow";
}

const CANDIDATES: readonly Candidate[] = [
  {
    pref: "tensorflow-gpu",
    pkg: "@tensorflow/tfjs-node-gpu",
    load: () => loadNode("@tensorflow/tfjs-node-gpu", true),
  },
  { pref: "tensorflow", pkg: "@tensorflow/tfjs-node", load: () => loadNode("@tensorflow/tfjs-node", false) },
  {
    pref: "wasm",
    pkg: "@tensorflow/tfjs-backend-wasm",
    load: async () => {
      await import("@tensorflow/tfjs-backend-wasm");
      if (!(await tf.setBackend("wasm"))) throw new Error('setBackend("wasm") returned false');
      return "wasm";
    },
  },
  {
    pref: "cpu",
    pkg: "@tensorflow/tfjs",
    load: async () => {
      if (!(await tf.setBackend("cpu"))) throw new Error('setBackend("cpu") returned false');
      return "cpu";
    },
  },
];

/** A failed native import may have registered its kernels already; drop them so the next candidate starts clean. */
function forgetNativeBackend(): void {
  for (const k of tf.getKernelsForBackend("tensorflow")) tf.unregisterKernel(k.kernelName, "tensorflow");
  if (tf.findBackend("tensorflow")) tf.removeBackend("tensorflow");
}

let current: BackendInfo | undefined;

/**
 * Selects and initialises a backend (idempotent per preference within a process / worker).
 * Throws KtoError("BACKEND_UNAVAILABLE") listing every failure when nothing loads.
 */
export async function initBackend(preference: BackendPreference = "auto"): Promise<BackendInfo> {
  if (
    current &&
    (preference === "auto" || CANDIDATES.find((c) => c.pref === preference)?.pkg === current.package)
  ) {
    if (tf.getBackend() === current.backend) return current;
  }
  const notes: string[] = [];
  const candidates = preference === "auto" ? CANDIDATES : CANDIDATES.filter((c) => c.pref === preference);
  for (const c of candidates) {
    try {
      const backend = await c.load();
      await tf.ready();
      if (backend === "wasm")
        notes.push(
          "wasm backend: single-threaded in Node; use data-parallel workers for more cores; heap capped at 4 GB",
        );
      if (backend === "cpu")
        notes.push(
          "cpu backend: pure JS, ~300× slower conv backward than wasm; its ResizeNearestNeighborGrad is wrong for batch > 1 (kto uses its own upsample gradient)",
        );
      current = { tf, backend, package: c.pkg, customGradients: true, notes };
      return current;
    } catch (e) {
      notes.push(`${c.pkg}: ${errText(e)}`);
      if (c.pref === "tensorflow-gpu" || c.pref === "tensorflow") forgetNativeBackend();
    }
  }
  throw new KtoError("BACKEND_UNAVAILABLE", `no tfjs backend could be initialised: ${notes.join("; ")}`);
}
