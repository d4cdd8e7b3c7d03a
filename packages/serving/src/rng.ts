/**
 * Seeded Gaussian noise for sampling. xoshiro128** (32-bit state words, fast in JS) seeded through
 * splitmix64 so that any safe-integer seed — including 0 and neighbouring seeds — gives a
 * well-mixed, independent stream. Box–Muller turns uniforms into normals. Only integer ops and
 * Math.log/cos/sin (V8's fdlibm port, identical across platforms) are used, so the same seed gives
 * bit-identical noise everywhere Node runs.
 */

const MASK64 = (1n << 64n) - 1n;

function splitmix64(state: bigint): [bigint, bigint] {
  const next = (state + 0x9e3779b97f4a7c15n) & MASK64;
  let z = next;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return [next, z ^ (z >> 31n)];
}

/** Largest accepted seed; seeds are stored as integers in the database. */
export const MAX_SEED = Number.MAX_SAFE_INTEGER;

export class GaussianRng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | null = null;

  /** seed: integer in [0, 2^53 - 1]. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw new RangeError(`seed must be an integer in [0, ${MAX_SEED}], got ${seed}`);
    const [st, a] = splitmix64(BigInt(seed));
    const [, b] = splitmix64(st);
    this.s0 = Number(a & 0xffffffffn) | 0;
    this.s1 = Number(a >> 32n) | 0;
    this.s2 = Number(b & 0xffffffffn) | 0;
    this.s3 = Number(b >> 32n) | 0;
    // splitmix64 never maps two consecutive states to all-zero output, but guard the forbidden state anyway.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next uint32 (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in the open interval (0, 1), so log() below never sees 0. */
  nextUniform(): number {
    return (this.nextUint32() + 0.5) / 4294967296;
  }

  /** Standard normal via Box–Muller (the second value of each pair is kept for the next call). */
  nextGaussian(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(this.nextUniform()));
    const theta = 2 * Math.PI * this.nextUniform();
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** Fills out[offset .. offset+length) with standard normals. */
  fillGaussian(out: Float32Array, offset = 0, length = out.length - offset): void {
    for (let i = 0; i < length; i++) out[offset + i] = this.nextGaussian();
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
