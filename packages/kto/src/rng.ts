/**
 * Seeded randomness for the engine: xoshiro128** (Blackman & Vigna 2018) seeded through
 * splitmix32, Box–Muller Gaussians, and `splitSeed` for independent, addressable streams
 * (seed, step, micro-batch…), in the spirit of transformers.js `utils/random.js`. kto never
 * calls Math.random: every stochastic function takes a seed or an `Rng`.
 */

/** The full generator state: four uint32 words. Serialisable; restoring it resumes the stream exactly. */
export type RngState = readonly [number, number, number, number];

/** splitmix32 finaliser: a well-mixed uint32 from any uint32. */
function mix32(x: number): number {
  let z = (x + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** Derives an independent uint32 seed from a seed and a path of integers (e.g. step, worker). */
export function splitSeed(seed: number, ...path: readonly number[]): number {
  let s = mix32(seed >>> 0);
  for (const p of path) s = mix32((s ^ mix32((p >>> 0) + 0x632be5ab)) >>> 0);
  return s;
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** A generator from a uint32 seed (any number is coerced with >>> 0) or a saved state. */
  constructor(seed: number | RngState) {
    if (typeof seed === "number") {
      let z = seed >>> 0;
      const next = (): number => (z = mix32(z));
      this.s0 = next();
      this.s1 = next();
      this.s2 = next();
      this.s3 = next();
      if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
    } else {
      [this.s0, this.s1, this.s2, this.s3] = seed.map((w) => w >>> 0) as unknown as RngState;
    }
  }

  /** A copy of the state (restore with `new Rng(state)`). */
  state(): RngState {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  /** Next uint32. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** One standard normal sample (Box–Muller; uses two uniforms, discards the second normal). */
  normal(): number {
    const u1 = 1 - this.uniform(); // (0, 1]: log stays finite
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Fills `out` with N(0, std²) samples (pairs from one Box–Muller draw); returns `out`. */
  fillNormal(out: Float32Array, std = 1): Float32Array {
    for (let i = 0; i < out.length; i += 2) {
      const r = Math.sqrt(-2 * Math.log(1 - this.uniform())) * std;
      const a = 2 * Math.PI * this.uniform();
      out[i] = r * Math.cos(a);
      if (i + 1 < out.length) out[i + 1] = r * Math.sin(a);
    }
    return out;
  }

  /** Fills `out` with U(lo, hi) samples; returns `out`. */
  fillUniform(out: Float32Array, lo: number, hi: number): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * this.uniform();
    return out;
  }

  /** A uniformly random permutation of 0…n−1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = p[i] ?? 0;
      p[i] = p[j] ?? 0;
      p[j] = tmp;
    }
    return p;
  }
}

/** A generator for the stream addressed by (seed, ...path). */
export function createRng(seed: number, ...path: readonly number[]): Rng {
  return new Rng(splitSeed(seed, ...path));
}
