import { describe, expect, test, vi } from "vitest";

import { ddimCoefficients, ddimStep, ddimTimesteps } from "./ddim";
import { isServingError } from "./errors";
import { ModelHost } from "./model-host";
import { GaussianRng } from "./rng";
import { resolveSampleRequest, sampleImages, type DiffusionModel, type SampleRequest } from "./sampler";
import {
  buildContractModel,
  CONTRACT_VOCAB,
  contractEps,
  defaultContractSpec,
  linearAlphasCumprod,
} from "./testing/contract-model";
import { Tokenizer } from "./tokenizer";

const spec = defaultContractSpec();
const alphasCumprod = linearAlphasCumprod(1000);
const tokenizer = new Tokenizer(CONTRACT_VOCAB, spec.contextLength);

async function withModel(fn: (m: DiffusionModel) => Promise<void>): Promise<void> {
  const host = await ModelHost.create(buildContractModel(spec), {
    imageSize: spec.imageSize,
    contextLength: spec.contextLength,
  });
  try {
    await fn({ host, tokenizer, alphasCumprod });
  } finally {
    await host.release();
  }
}

/** Float64 re-implementation of DDIM + CFG over the analytic contract ε: the sampler's oracle. */
function referenceSample(
  req: Required<Pick<SampleRequest, "prompts" | "seeds" | "steps" | "guidanceScale" | "eta">>,
): Uint8Array[] {
  const pix = spec.imageSize ** 2 * 3;
  const n = req.prompts.length;
  const rngs = req.seeds.map((s) => new GaussianRng(s));
  const x = new Float64Array(n * pix);
  const buf = new Float32Array(pix);
  rngs.forEach((r, b) => {
    r.fillGaussian(buf);
    x.set(buf, b * pix);
  });
  const cond = tokenizer.encodeBatch(req.prompts);
  const uncond = new BigInt64Array(cond.length);
  const ts = ddimTimesteps(1000, req.steps, "trailing");
  for (const [i, t] of ts.entries()) {
    const tArr = new Float64Array(n).fill(t);
    const ec = contractEps(spec, cond, x, tArr, n);
    const eu = contractEps(spec, uncond, x, tArr, n);
    const a = alphasCumprod[t] ?? 0;
    const aPrev = i + 1 < ts.length ? (alphasCumprod[ts[i + 1] ?? 0] ?? 0) : 1;
    const sigma = req.eta * Math.sqrt((1 - aPrev) / (1 - a)) * Math.sqrt(1 - a / aPrev);
    const noise = new Float64Array(n * pix);
    if (sigma > 0)
      rngs.forEach((r, b) => {
        r.fillGaussian(buf);
        noise.set(buf, b * pix);
      });
    for (let k = 0; k < x.length; k++) {
      const e = (eu[k] ?? 0) + req.guidanceScale * ((ec[k] ?? 0) - (eu[k] ?? 0));
      const x0 = Math.min(1, Math.max(-1, ((x[k] ?? 0) - Math.sqrt(1 - a) * e) / Math.sqrt(a)));
      // ε consistent with the clipped x̂0 (diffusers' DDIMScheduler does the same).
      const eClip = ((x[k] ?? 0) - Math.sqrt(a) * x0) / Math.sqrt(1 - a);
      x[k] =
        Math.sqrt(aPrev) * x0 +
        Math.sqrt(Math.max(0, 1 - aPrev - sigma * sigma)) * eClip +
        sigma * (noise[k] ?? 0);
    }
  }
  return Array.from({ length: n }, (_, b) =>
    Uint8Array.from(x.subarray(b * pix, (b + 1) * pix), (v) =>
      Math.round((Math.min(1, Math.max(-1, v)) + 1) * 127.5),
    ),
  );
}

function maxDiff(a: Uint8Array, b: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return m;
}

describe("DDIM timesteps and coefficients", () => {
  test("spacings over 1000 steps (golden)", () => {
    expect(ddimTimesteps(1000, 10, "trailing")).toEqual([999, 899, 799, 699, 599, 499, 399, 299, 199, 99]);
    expect(ddimTimesteps(1000, 10, "leading")).toEqual([900, 800, 700, 600, 500, 400, 300, 200, 100, 0]);
    expect(ddimTimesteps(1000, 10, "linspace")).toEqual([999, 888, 777, 666, 555, 444, 333, 222, 111, 0]);
    for (const s of [10, 25, 30, 77, 100]) {
      const ts = ddimTimesteps(1000, s);
      expect(ts).toHaveLength(s);
      expect(ts[0]).toBe(999);
      expect(new Set(ts).size).toBe(s);
    }
  });

  test("η = 0 with the true ε maps x_t exactly onto x_prev (DDIM's fixed point)", () => {
    const [c] = ddimCoefficients(alphasCumprod, [600, 400], 0);
    if (!c) throw new Error("no coefficients");
    expect(c.sigma).toBe(0);
    const x0 = 0.3;
    const e = -1.2;
    const xt = c.sqrtAlpha * x0 + c.sqrtOneMinusAlpha * e;
    const xPrev = c.sqrtAlphaPrev * ((xt - c.sqrtOneMinusAlpha * e) / c.sqrtAlpha) + c.dirCoef * e;
    expect(xPrev).toBeCloseTo(
      Math.sqrt(alphasCumprod[400] ?? 0) * x0 + Math.sqrt(1 - (alphasCumprod[400] ?? 0)) * e,
      12,
    );
    const last = ddimCoefficients(alphasCumprod, [99], 1)[0];
    expect(last).toMatchObject({ sqrtAlphaPrev: 1, dirCoef: 0, sigma: 0 });
  });

  test("clipping x̂0 re-derives ε from it, so x_prev is the exact re-noising of the clipped x̂0", () => {
    const [c] = ddimCoefficients(alphasCumprod, [900, 700], 0);
    if (!c) throw new Error("no coefficients");
    // A poor ε at high t gives x̂0 far outside [−1, 1].
    const xt = 0.4;
    const badEps = -0.9;
    const rawX0 = (xt - c.sqrtOneMinusAlpha * badEps) / c.sqrtAlpha;
    expect(rawX0).toBeGreaterThan(1);
    const clipped = Float32Array.of(xt);
    ddimStep(clipped, Float32Array.of(badEps), c, true);
    const consistentEps = (xt - c.sqrtAlpha * 1) / c.sqrtOneMinusAlpha;
    expect(clipped[0]).toBeCloseTo(c.sqrtAlphaPrev * 1 + c.dirCoef * consistentEps, 6);
    // Inside the range clipping changes nothing.
    const inRange = Float32Array.of(c.sqrtAlpha * 0.2 + c.sqrtOneMinusAlpha * 0.5);
    const plain = Float32Array.from(inRange);
    ddimStep(inRange, Float32Array.of(0.5), c, true);
    ddimStep(plain, Float32Array.of(0.5), c, false);
    expect(inRange[0]).toBe(plain[0]);
  });
});

describe("sampleImages", () => {
  test("matches a float64 reference DDIM + CFG (η = 0 and η = 0.7) to within 1 grey level", async () => {
    await withModel(async (model) => {
      for (const eta of [0, 0.7]) {
        const req = {
          prompts: ["red circle", "", "blue square zebra"],
          seeds: [1, 2, 3],
          steps: 12,
          guidanceScale: 2,
          eta,
        };
        const res = await sampleImages(model, req);
        const ref = referenceSample(req);
        res.images.forEach((img, b) => {
          expect(maxDiff(img.data, ref[b] ?? new Uint8Array())).toBeLessThanOrEqual(1);
          // Guards against a vacuous pass on saturated images.
          expect(new Set(img.data).size).toBeGreaterThan(20);
        });
        expect(res.tokens[2]?.unknownWords).toEqual(["zebra"]);
      }
    });
  });

  test("guidance runs ONE batched forward of 2N rows per step; scale 1 runs N rows", async () => {
    await withModel(async (model) => {
      const spy = vi.spyOn(model.host, "forward");
      await sampleImages(model, { prompts: ["red", "blue"], seeds: [5, 6], steps: 10, guidanceScale: 3 });
      expect(spy).toHaveBeenCalledTimes(10);
      expect(
        spy.mock.calls.every(([i]) => i.batch === 4 && i.tokens.slice(2 * 4).every((v) => v === 0n)),
      ).toBe(true);
      spy.mockClear();
      await sampleImages(model, { prompts: ["red", "blue"], seeds: [5, 6], steps: 10, guidanceScale: 1 });
      expect(spy).toHaveBeenCalledTimes(10);
      expect(spy.mock.calls.every(([i]) => i.batch === 2)).toBe(true);
    });
  });

  test("deterministic: same seeds → bit-identical images; another seed → different; an image does not depend on its batch-mates", async () => {
    await withModel(async (model) => {
      const req = { prompts: ["red circle", "blue"], seeds: [11, 12], steps: 10, eta: 0.5 };
      const a = await sampleImages(model, req);
      const b = await sampleImages(model, req);
      a.images.forEach((img, i) =>
        expect(Buffer.from(img.data).equals(Buffer.from(b.images[i]?.data ?? []))).toBe(true),
      );
      const c = await sampleImages(model, { ...req, seeds: [13, 12] });
      expect(Buffer.from(c.images[0]?.data ?? []).equals(Buffer.from(a.images[0]?.data ?? []))).toBe(false);
      const alone = await sampleImages(model, { ...req, prompts: ["blue"], seeds: [12] });
      expect(Buffer.from(alone.images[0]?.data ?? []).equals(Buffer.from(a.images[1]?.data ?? []))).toBe(
        true,
      );
      expect(a.images[0]).toMatchObject({ width: 8, height: 8 });
      expect(a.timesteps).toHaveLength(10);
    });
  });

  test.each<[string, Partial<SampleRequest>, RegExp]>([
    ["too few steps", { steps: 9 }, /steps must be an integer in \[10, 100\], got 9/],
    ["too many steps", { steps: 101 }, /steps must be/],
    ["fractional steps", { steps: 20.5 }, /steps must be/],
    ["guidance < 1", { guidanceScale: 0.5 }, /guidanceScale must be a number in \[1, 50\]/],
    ["guidance NaN", { guidanceScale: Number.NaN }, /guidanceScale/],
    ["eta out of range", { eta: 1.5 }, /eta must be/],
    ["no prompts", { prompts: [], seeds: [] }, /non-empty/],
    [
      "huge batch",
      { prompts: Array<string>(65).fill("red"), seeds: Array.from({ length: 65 }, (_, i) => i) },
      /at most 64 images/,
    ],
    ["seed count", { seeds: [1, 2] }, /one seed per prompt/],
    ["fractional seed", { seeds: [1.5] }, /seeds\[0\] must be an integer/],
    ["negative seed", { seeds: [-3] }, /seeds\[0\]/],
    ["prompt not a string", { prompts: [42 as unknown as string] }, /prompts\[0\] must be a string/],
    ["overlong prompt", { prompts: ["red ".repeat(300)] }, /characters \(max 1000\)/],
    [
      "unknown words when strict",
      { prompts: ["red zebra"], strictVocabulary: true },
      /outside the model's vocabulary: zebra/,
    ],
    ["bad spacing", { spacing: "random" as "leading" }, /spacing/],
  ])("INVALID_REQUEST: %s", (_name, patch, message) => {
    const req: SampleRequest = { prompts: ["red"], seeds: [1], ...patch };
    let err: unknown;
    try {
      resolveSampleRequest(req, tokenizer);
    } catch (e) {
      err = e;
    }
    expect(isServingError(err, "INVALID_REQUEST")).toBe(true);
    expect(String(err)).toMatch(message);
  });
});
