/**
 * Seeded randomness for the shapes world: xoshiro128** seeded through splitmix32, and
 * `splitSeed` for independent, addressable streams (dataset seed → example index → flaw…, or
 * rater seed → rater → image). The same algorithm as the engine's, restated here because
 * packages are leaves. Nothing in synth calls Math.random or reads a clock.
 */

/** splitmix32 finaliser: a well-mixed uint32 from any uint32. */
function mix32(x: number): number {
  let z = (x + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** Folds a non-negative safe integer (up to 2^53) into a uint32 without dropping its high bits. */
function fold(n: number): number {
  const hi = Math.floor(n / 4294967296) >>> 0;
  return mix32((n >>> 0) ^ mix32(hi + 0x51ed27f3)) >>> 0;
}

/** An independent uint32 seed for the stream addressed by (seed, ...path). */
export function splitSeed(seed: number, ...path: readonly number[]): number {
  let s = fold(seed);
  for (const p of path) s = mix32((s ^ mix32(fold(p) + 0x632be5ab)) >>> 0);
  return s;
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/** xoshiro128** generator; every stochastic synth function takes one of these or a seed. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let z = fold(seed);
    const next = (): number => (z = mix32(z));
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
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

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.uniform() < p;
  }

  /** One element of a non-empty array, uniformly. */
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new RangeError("pick from an empty array");
    return item;
  }

  /** One standard normal sample (Box–Muller). */
  normal(): number {
    const u1 = 1 - this.uniform(); // (0, 1]: log stays finite
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * this.uniform());
  }
}

/** A generator for the stream addressed by (seed, ...path). */
export function createRng(seed: number, ...path: readonly number[]): Rng {
  return new Rng(splitSeed(seed, ...path));
}
