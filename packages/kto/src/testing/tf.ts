// Test helpers for kto numerics (STYLE.md §2.7): backend setup, tolerant comparisons, toy data.
import * as tf from "@tensorflow/tfjs";

import { initBackend } from "../tf/backend";

/** Switches the global tfjs engine to `name` ("wasm" by default: kto numeric tests run on wasm). */
export async function useBackend(name: "wasm" | "cpu" = "wasm"): Promise<void> {
  const info = await initBackend(name);
  if (info.backend !== name) throw new Error(`wanted backend ${name}, got ${info.backend}`);
}

/** ‖a − b‖₂ / max(‖b‖₂, tiny). */
export function relativeL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relativeL2: lengths ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    num += (x - y) ** 2;
    den += y * y;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

/** Runs `f` on backend `name` and returns plain arrays (tensors created inside are disposed). */
export async function onBackend<R>(name: "wasm" | "cpu", f: () => R): Promise<R> {
  const before = tf.getBackend();
  await useBackend(name);
  try {
    return f();
  } finally {
    await useBackend(before as "wasm" | "cpu");
  }
}

/** Deterministic pseudo-random float32 values in [-1, 1) (not the engine RNG; fixtures only). */
export function fixture(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
  return out;
}
