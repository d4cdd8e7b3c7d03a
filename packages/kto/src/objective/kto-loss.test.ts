// Golden values of the alignment losses and their gradients w.r.t. the policy prediction, against the
// independent float64 reference in src/testing/kto-reference.ts (whose hand-derived gradients are in turn
// checked by central finite differences), plus hand-computed values, the init slopes (±β/4 per image),
// edge cases, the clear errors, tensor hygiene and determinism. wasm backend, tiny shapes.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";

import { KtoError } from "../errors";
import {
  finiteDifference,
  refDpo,
  refError,
  refKto,
  refReferencePoint,
  refSft,
  type RefKtoCase,
} from "../testing/kto-reference";
import { fixture, relativeL2, useBackend } from "../testing/tf";
import { OBJECTIVES } from "../train/objective";
import { denoisingError, sampleErrors } from "./denoising-error";
import { dpoLoss, dpoLossWithMetrics, dpoObjective, splitPairBatch } from "./dpo-loss";
import { implicitReward } from "./implicit-reward";
import { ktoLoss, ktoLossWithMetrics, ktoObjective } from "./kto-loss";
import { readMetrics, readMetricsSync } from "./metrics";
import { objectiveMetricsOf } from "./batch-metrics";
import { ktoFromInputs, OBJECTIVES_WITH_METRICS } from "./objectives";
import {
  ktoOptionsFromCodes,
  ktoOptionsToCodes,
  REFERENCE_POINTS,
  UTILITIES,
  type KtoOptions,
  type ReferencePoint,
  type Utility,
} from "./options";
import { referencePoint, rollPrompts } from "./reference-point";
import { sftLoss, sftObjective } from "./sft-loss";
import { utility } from "./utility";

beforeAll(async () => {
  await useBackend("wasm");
});

/** [B][D] plain arrays from a seeded fixture, scaled. */
function rows(B: number, D: number, seed: number, scale = 1, offset?: number[][]): number[][] {
  const f = fixture(B * D, seed);
  return Array.from({ length: B }, (_v, b) =>
    Array.from({ length: D }, (_w, j) => (f[b * D + j] ?? 0) * scale + (offset?.[b]?.[j] ?? 0)),
  );
}
const t2 = (a: number[][]): tf.Tensor2D => tf.tensor2d(a);
const flat = (a: number[][]): number[] => a.flat();

function expectKtoError(f: () => unknown, code: string, message?: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, `expected KtoError ${code}`).toBeInstanceOf(KtoError);
  expect((err as KtoError).code).toBe(code);
  if (message) expect((err as KtoError).message).toMatch(message);
}

/** A KTO case on [B, D] "images": policy and reference near each other so u = O(1) at β. */
function ktoCase(B: number, D: number, labels: number[], o: Partial<RefKtoCase> = {}): RefKtoCase {
  const eps = rows(B, D, 11);
  const epsRef = rows(B, D, 12, 0.6, eps);
  const epsPolicy = rows(B, D, 13, 0.6, eps);
  return {
    eps,
    epsRef,
    epsPolicy,
    labels,
    beta: 3,
    lambdaD: 1.5,
    lambdaU: 0.7,
    utility: "sigmoid",
    referencePoint: "batch",
    ...o,
  };
}

/** tfjs loss and gradient w.r.t. ε_θ for a reference case (mismatched errors built to give its mismatchedReward). */
function tfKto(
  c: RefKtoCase,
  mismatched?: { policy: number[]; reference: number[] },
): { loss: number; grad: number[] } {
  const eps = t2(c.eps);
  const epsRef = t2(c.epsRef);
  const labels = tf.tensor1d(c.labels);
  const mis = mismatched
    ? { policy: tf.tensor1d(mismatched.policy), reference: tf.tensor1d(mismatched.reference) }
    : undefined;
  const opts: Partial<KtoOptions> = {
    beta: c.beta,
    lambdaD: c.lambdaD,
    lambdaU: c.lambdaU,
    utility: c.utility,
    referencePoint: c.referencePoint,
  };
  const f = (x: tf.Tensor) =>
    tf.tidy(
      () =>
        ktoObjective({ eps, epsPolicy: x, epsRef, labels, ...(mis ? { mismatched: mis } : {}) }, opts).loss,
    );
  const { value, grad } = tf.valueAndGrad(f)(t2(c.epsPolicy));
  const out = { loss: value.dataSync()[0] ?? Number.NaN, grad: Array.from(grad.dataSync()) };
  tf.dispose([eps, epsRef, labels, value, grad, ...(mis ? [mis.policy, mis.reference] : [])]);
  return out;
}

const MIS = { policy: [0.9, 1.1, 0.7, 1.3, 1.0], reference: [1.0, 1.05, 0.9, 1.2, 1.05] }; // g' = [0.1, −0.05, 0.2, −0.1, 0.05], mean 0.04
const MIS_NEG = { policy: [1.2, 1.1, 1.3, 1.0, 1.15], reference: [1.0, 1.0, 1.0, 1.0, 1.0] }; // mean g' = −0.15: clamping matters

describe("Diffusion-KTO loss: golden values vs the float64 reference", () => {
  const labels = [1, -1, 1, 1, -1];
  for (const u of UTILITIES) {
    for (const rp of REFERENCE_POINTS) {
      for (const mis of rp.startsWith("mismatched") ? [MIS, MIS_NEG] : [undefined]) {
        it(`${u} utility, ${rp} reference point${mis === MIS_NEG ? " (negative mismatched g)" : ""}: loss and ∂L/∂ε_θ`, () => {
          const c = ktoCase(5, 6, labels, { utility: u, referencePoint: rp });
          const mr = mis ? mis.reference.map((r, i) => r - (mis.policy[i] ?? 0)) : undefined;
          const ref = refKto({ ...c, ...(mr ? { mismatchedReward: mr } : {}) });
          const got = tfKto(c, mis);
          expect(Math.abs(got.loss - ref.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(ref.loss)));
          expect(relativeL2(got.grad, flat(ref.grad))).toBeLessThan(1e-4);
          // The reference's hand-derived gradient agrees with finite differences of its own loss (z held fixed: detached).
          const fd = finiteDifference(
            (x) =>
              refKto({ ...c, epsPolicy: x, fixedZ: ref.z, ...(mr ? { mismatchedReward: mr } : {}) }).loss,
            c.epsPolicy,
          );
          expect(relativeL2(flat(ref.grad), flat(fd))).toBeLessThan(1e-6);
          // The case is in the interesting range (neither linear nor saturated).
          expect(Math.max(...ref.u.map(Math.abs))).toBeGreaterThan(0.1);
          expect(Math.max(...ref.u.map(Math.abs))).toBeLessThan(10);
        });
      }
    }
  }

  it("hand-computed case (B = 2, D = 2, β = 2, batch z clamps −0.125 to 0): σ, log σ and softplus utilities", () => {
    // err_ref = [0.5, 0.5], err_policy = [0.125, 1.125] → g = [0.375, −0.625], z = max(0, −0.125) = 0,
    // u = [+2·0.375, −2·(−0.625)] = [0.75, 1.25]. Expected values from Python's math module (float64):
    // ½((1−σ(0.75)) + (1−σ(1.25))), ½((1−log σ(0.75)) + (1−log σ(1.25))), ½((1−softplus(0.75)) + (1−softplus(1.25))).
    const golden: Record<Utility, number> = {
      sigmoid: 0.271760719824958,
      "loss-averse": 1.3194000437301363,
      "risk-seeking": -0.3194000437301364,
    };
    for (const u of UTILITIES) {
      const c: RefKtoCase = {
        eps: [
          [0, 0],
          [0, 0],
        ],
        epsRef: [
          [1, 0],
          [0, 1],
        ],
        epsPolicy: [
          [0.5, 0],
          [0, 1.5],
        ],
        labels: [1, -1],
        beta: 2,
        lambdaD: 1,
        lambdaU: 1,
        utility: u,
        referencePoint: "batch",
      };
      expect(refKto(c).loss).toBeCloseTo(golden[u], 12);
      expect(tfKto(c).loss).toBeCloseTo(golden[u], 6);
    }
  });

  it("metrics: z, class means of g, reward accuracy, KL proxy, label mix, raw MSEs", async () => {
    const c = ktoCase(5, 6, labels, { referencePoint: "class-balanced" });
    const ref = refKto(c);
    const m = refError(c.eps, c.epsPolicy);
    const r = refError(c.eps, c.epsRef);
    const g = r.map((v, i) => v - (m[i] ?? 0));
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    const out = tf.tidy(() => {
      const errors = sampleErrors(t2(c.eps), t2(c.epsPolicy), t2(c.epsRef));
      return ktoLossWithMetrics(
        { errors, labels: tf.tensor1d(labels) },
        { beta: c.beta, lambdaD: c.lambdaD, lambdaU: c.lambdaU, referencePoint: "class-balanced" },
      );
    });
    out.loss.dispose();
    const got = await readMetrics(out.metrics);
    expect(got.loss).toBeCloseTo(ref.loss, 5);
    expect(got.referencePoint).toBeCloseTo(ref.z, 5);
    expect(got.rewardDesirable).toBeCloseTo(mean(g.filter((_v, i) => (labels[i] ?? 0) > 0)), 5);
    expect(got.rewardUndesirable).toBeCloseTo(mean(g.filter((_v, i) => (labels[i] ?? 0) < 0)), 5);
    expect(got.rewardAccuracy).toBeCloseTo(ref.u.filter((v) => v > 0).length / 5, 6);
    expect(got.kl).toBeCloseTo(mean(refError(c.epsRef, c.epsPolicy)), 5);
    expect(got.desirableShare).toBeCloseTo(0.6, 6);
    expect(got.errPolicy).toBeCloseTo(mean(m), 5);
    expect(got.errRef).toBeCloseTo(mean(r), 5);
  });
});

describe("the start of a round (πθ = πref): ±β/4 per image for KTO and DPO", () => {
  const B = 4;
  const beta = 5000; // the paper's default
  const errorsAtInit = () => {
    const e = tf.tensor1d([0.9, 1.1, 0.7, 1.3]);
    return { policy: e, reference: e.clone(), drift: tf.zeros<tf.Rank.R1>([B]) };
  };

  it("KTO: B·∂L/∂err_policy = s·β·U'(0): ±β/4 (sigmoid), ±β/2 (loss-averse, risk-seeking)", () => {
    const slope: Record<Utility, number> = { sigmoid: 0.25, "loss-averse": 0.5, "risk-seeking": 0.5 };
    const labels = [1, -1, -1, 1];
    for (const u of UTILITIES) {
      const errors = errorsAtInit();
      const y = tf.tensor1d(labels);
      const grad = tf.grad((p: tf.Tensor) =>
        ktoLoss({ errors: { ...errors, policy: p as tf.Tensor1D }, labels: y }, { beta, utility: u }),
      )(errors.policy);
      const got = Array.from(grad.dataSync()).map((v) => v * B);
      labels.forEach((s, i) => expect(got[i]).toBeCloseTo(s * beta * slope[u], 2));
      tf.dispose([grad, y, errors.policy, errors.reference, errors.drift]);
    }
  });

  it("DPO: P·∂L/∂err_w = +β/4, P·∂L/∂err_l = −β/4 (the ½ cancels log σ's slope of ½)", () => {
    const w = errorsAtInit();
    const l = errorsAtInit();
    const [gw, gl] = tf.grads((pw: tf.Tensor, pl: tf.Tensor) =>
      dpoLoss(
        { winner: { ...w, policy: pw as tf.Tensor1D }, loser: { ...l, policy: pl as tf.Tensor1D } },
        { beta },
      ),
    )([w.policy, l.policy]);
    for (const v of gw?.dataSync() ?? []) expect(v * B).toBeCloseTo(beta / 4, 2);
    for (const v of gl?.dataSync() ?? []) expect(v * B).toBeCloseTo(-beta / 4, 2);
    tf.dispose(
      [gw, gl, w.policy, w.reference, w.drift, l.policy, l.reference, l.drift].filter(
        (t): t is tf.Tensor => t !== undefined,
      ),
    );
  });

  it("the per-image gradient w.r.t. ε_θ is then (±β/4)·∇err_policy / B", () => {
    const c = ktoCase(4, 6, [1, -1, 1, -1], { beta: 5000 });
    const atInit = { ...c, epsPolicy: c.epsRef };
    const got = tfKto(atInit);
    const expected = atInit.epsPolicy.map((p, i) =>
      p.map(
        (v, j) =>
          ((c.labels[i] ?? 0) * (5000 / 4) * 2 * (v - (c.eps[i]?.[j] ?? 0))) /
          6 /
          4 /
          (c.labels[i] === 1 ? 1 / 1.5 : 1 / 0.7),
      ),
    );
    expect(relativeL2(got.grad, flat(expected))).toBeLessThan(1e-5);
  });

  // Why the toy (BENCHMARKS.md) stalls loss-averse and destabilises risk-seeking: a per-sample g is a
  // one-draw estimate, and noise of mean 0 on u changes E[U(u)] by ≈ ½·U''(ū)·Var(u). U''(0) is 0 for σ,
  // −¼ for log σ (noise costs utility: a pull back to the reference) and +¼ for softplus (noise pays).
  it("zero-mean noise on g: the sigmoid's loss is unchanged, loss-averse's rises, risk-seeking's falls", () => {
    const lossOf = (u: Utility, g: number[]) => {
      const reference = tf.ones<tf.Rank.R1>([g.length]);
      const policy = tf.sub<tf.Tensor1D>(reference, tf.tensor1d(g)); // g = err_ref − err_policy
      const labels = tf.ones<tf.Rank.R1>([g.length]);
      const loss = ktoLoss(
        { errors: { policy, reference, drift: tf.zerosLike(policy) }, labels },
        { beta: 4, utility: u },
      );
      const v = loss.dataSync()[0] ?? Number.NaN;
      tf.dispose([reference, policy, labels, loss]);
      return v;
    };
    const clean = [0, 0]; // mean g = 0, so the batch z is 0 in both cases
    const noisy = [0.25, -0.25]; // u = ±1
    expect(lossOf("sigmoid", noisy)).toBeCloseTo(lossOf("sigmoid", clean), 6);
    expect(lossOf("loss-averse", noisy) - lossOf("loss-averse", clean)).toBeCloseTo(
      -(Math.log(1 / (1 + Math.exp(-1))) + Math.log(1 / (1 + Math.exp(1)))) / 2 - Math.log(2),
      5,
    );
    expect(lossOf("loss-averse", noisy)).toBeGreaterThan(lossOf("loss-averse", clean) + 0.1);
    expect(lossOf("risk-seeking", noisy)).toBeLessThan(lossOf("risk-seeking", clean) - 0.1);
  });
});

describe("Diffusion-DPO and SFT: golden values vs the float64 reference", () => {
  it("DPO loss (½β form, mean over pairs) and gradients of winners and losers", () => {
    const P = 3;
    const D = 5;
    const eps: [number[][], number[][]] = [rows(P, D, 21), rows(P, D, 22)];
    const epsRef: [number[][], number[][]] = [rows(P, D, 23, 0.5, eps[0]), rows(P, D, 24, 0.5, eps[1])];
    const epsPolicy: [number[][], number[][]] = [rows(P, D, 25, 0.5, eps[0]), rows(P, D, 26, 0.5, eps[1])];
    const beta = 4;
    const ref = refDpo({ eps, epsRef, epsPolicy, beta });
    // One batch in the [winners, losers] layout, as the training loop would send it.
    const cat = (a: [number[][], number[][]]) => t2([...a[0], ...a[1]]);
    const epsT = cat(eps);
    const refT = cat(epsRef);
    const labels = tf.tensor1d([1, 1, 1, -1, -1, -1]);
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) =>
      tf.tidy(() => dpoObjective({ eps: epsT, epsPolicy: x, epsRef: refT, labels }, { beta }).loss),
    )(cat(epsPolicy));
    expect(value.dataSync()[0]).toBeCloseTo(ref.loss, 5);
    expect(relativeL2(grad.dataSync(), [...flat(ref.gradWinner), ...flat(ref.gradLoser)])).toBeLessThan(1e-4);
    const fd = finiteDifference(
      (x) => refDpo({ eps, epsRef, beta, epsPolicy: [x.slice(0, P), x.slice(P)] }).loss,
      [...epsPolicy[0], ...epsPolicy[1]],
    );
    expect(relativeL2([...flat(ref.gradWinner), ...flat(ref.gradLoser)], flat(fd))).toBeLessThan(1e-6);
    tf.dispose([epsT, refT, labels, value, grad]);
  });

  it("DPO rejects an odd batch and labels that do not follow [winners, losers]", () => {
    tf.tidy(() => {
      const e = {
        policy: tf.ones<tf.Rank.R1>([3]),
        reference: tf.ones<tf.Rank.R1>([3]),
        drift: tf.zeros<tf.Rank.R1>([3]),
      };
      expectKtoError(() => splitPairBatch(e), "INVALID_OBJECTIVE", /even/);
      const e4 = {
        policy: tf.ones<tf.Rank.R1>([4]),
        reference: tf.ones<tf.Rank.R1>([4]),
        drift: tf.zeros<tf.Rank.R1>([4]),
      };
      expectKtoError(() => splitPairBatch(e4, tf.tensor1d([1, -1, 1, -1])), "INVALID_OBJECTIVE", /winners/);
    });
  });

  for (const normalize of ["desirable", "batch"] as const) {
    it(`SFT (${normalize} mean): loss and gradient; undesirable samples contribute nothing`, () => {
      const eps = rows(5, 4, 31);
      const epsPolicy = rows(5, 4, 32, 0.5, eps);
      const labels = [1, -1, 1, -1, 1];
      const ref = refSft(eps, epsPolicy, labels, normalize);
      const y = tf.tensor1d(labels);
      const e = t2(eps);
      const { value, grad } = tf.valueAndGrad((x: tf.Tensor) =>
        tf.tidy(() => sftObjective({ eps: e, epsPolicy: x, labels: y }, { normalize }).loss),
      )(t2(epsPolicy));
      expect(value.dataSync()[0]).toBeCloseTo(ref.loss, 5);
      expect(relativeL2(grad.dataSync(), flat(ref.grad))).toBeLessThan(1e-5);
      const g = grad.dataSync();
      for (const i of [1, 3])
        for (let j = 0; j < 4; j++) expect(Math.abs(g[i * 4 + j] ?? Number.NaN)).toBe(0);
      tf.dispose([y, e, value, grad]);
    });
  }

  it("SFT on a batch without desirable samples is 0 with a zero gradient", () => {
    const y = tf.tensor1d([-1, -1]);
    const { value, grad } = tf.valueAndGrad((p: tf.Tensor1D) => sftLoss({ errPolicy: p, labels: y }))(
      tf.tensor1d([0.5, 2]),
    );
    expect(value.dataSync()[0]).toBe(0);
    expect(Array.from(grad.dataSync()).map(Math.abs)).toEqual([0, 0]);
    tf.dispose([y, value, grad]);
  });
});

describe("edge cases", () => {
  for (const [name, labels] of [
    ["all-desirable", [1, 1, 1]],
    ["all-undesirable", [-1, -1, -1]],
    ["a batch of one (desirable)", [1]],
    ["a batch of one (undesirable)", [-1]],
  ] as const) {
    for (const rp of ["batch", "class-balanced"] as const) {
      it(`${name} batch, ${rp} reference point (an empty class contributes 0 to z)`, () => {
        const c = ktoCase(labels.length, 4, [...labels], { referencePoint: rp });
        const ref = refKto(c);
        const got = tfKto(c);
        expect(got.loss).toBeCloseTo(ref.loss, 5);
        expect(relativeL2(got.grad, flat(ref.grad))).toBeLessThan(1e-4);
        expect(Number.isFinite(got.loss)).toBe(true);
        if (rp === "class-balanced") {
          const m = refError(c.eps, c.epsPolicy);
          const g = refError(c.eps, c.epsRef).map((r, i) => r - (m[i] ?? 0));
          expect(ref.z).toBeCloseTo(0.5 * (g.reduce((s, v) => s + v, 0) / g.length), 12);
        }
      });
    }
  }

  it("the batch reference point is clamped at 0 and detached; class-balanced is not clamped", () => {
    tf.tidy(() => {
      const g = tf.tensor1d([-0.3, -0.1, 0.2]);
      const d = tf.tensor1d([1, 0, 0]);
      expect(referencePoint("batch", g, d).dataSync()[0]).toBe(0);
      expect(referencePoint("class-balanced", g, d).dataSync()[0]).toBeCloseTo(
        refReferencePoint("class-balanced", [-0.3, -0.1, 0.2], [1, -1, -1]),
        6,
      );
      expect(referencePoint("class-balanced", g, d).dataSync()[0]).toBeLessThan(0);
      const dz = tf.grad((x: tf.Tensor) => referencePoint("class-balanced", x as tf.Tensor1D, d))(g);
      expect(Array.from(dz.dataSync())).toEqual([0, 0, 0]);
    });
  });

  it("ε_ref never gets a gradient", () => {
    const eps = t2(rows(2, 3, 41));
    const pol = t2(rows(2, 3, 42));
    const ref = t2(rows(2, 3, 43));
    const labels = tf.tensor1d([1, -1]);
    const dRef = tf.grad((r: tf.Tensor) =>
      tf.tidy(() => ktoObjective({ eps, epsPolicy: pol, epsRef: r, labels }, { beta: 3 }).loss),
    )(ref);
    expect(Array.from(dRef.dataSync()).every((v) => v === 0)).toBe(true);
    const dG = tf.grad((r: tf.Tensor) =>
      implicitReward({ policy: tf.ones([2]), reference: r as tf.Tensor1D }).sum(),
    )(tf.ones<tf.Rank.R1>([2]));
    expect(Array.from(dG.dataSync())).toEqual([0, 0]);
    tf.dispose([eps, pol, ref, labels, dRef, dG]);
  });

  it("denoising errors average over every non-batch axis: [B,H,W,3] images and [B,2] points", () => {
    tf.tidy(() => {
      const img = tf.tensor4d(fixture(2 * 3 * 3 * 3, 5), [2, 3, 3, 3]);
      const errImg = denoisingError(tf.zerosLike(img), img).dataSync();
      const flatImg = img.reshape([2, 27]);
      expect(Array.from(errImg)).toEqual(
        Array.from(denoisingError(tf.zerosLike(flatImg), flatImg).dataSync()),
      );
      expect(errImg[0]).toBeCloseTo(
        refError([Array.from(fixture(54, 5).slice(0, 27))], [[...new Array<number>(27).fill(0)]])[0] ?? 0,
        6,
      );
      const pts = denoisingError(
        tf.tensor2d([
          [0, 0],
          [1, 1],
        ]),
        tf.tensor2d([
          [3, 4],
          [1, 1],
        ]),
      ).dataSync();
      expect(Array.from(pts)).toEqual([12.5, 0]);
    });
  });

  it("rollPrompts gives image i the prompt of image i − 1", () => {
    expect(Array.from(rollPrompts(Int32Array.from([1, 1, 2, 2, 3, 3]), 3, 2))).toEqual([3, 3, 1, 1, 2, 2]);
  });
});

describe("clear errors", () => {
  const ok = () => ({
    policy: tf.tensor1d([1, 2]),
    reference: tf.tensor1d([1.5, 1.5]),
    drift: tf.tensor1d([0.1, 0.1]),
  });

  it("β = 0, β < 0, β = NaN/∞, λ < 0, unknown utility / reference point / codes / keys are INVALID_OBJECTIVE", () => {
    tf.tidy(() => {
      const labels = tf.tensor1d([1, -1]);
      for (const beta of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        expectKtoError(
          () => ktoLoss({ errors: ok(), labels }, { beta }),
          "INVALID_OBJECTIVE",
          /beta must be a finite number > 0/,
        );
        expectKtoError(() => dpoLoss({ winner: ok(), loser: ok() }, { beta }), "INVALID_OBJECTIVE", /beta/);
      }
      expectKtoError(
        () => ktoLoss({ errors: ok(), labels }, { lambdaD: -0.1 }),
        "INVALID_OBJECTIVE",
        /lambdaD/,
      );
      expectKtoError(
        () => ktoLoss({ errors: ok(), labels }, { lambdaU: -1 }),
        "INVALID_OBJECTIVE",
        /lambdaU/,
      );
      expectKtoError(
        () => ktoLoss({ errors: ok(), labels }, { utility: "prospect" as Utility }),
        "INVALID_OBJECTIVE",
        /unknown utility "prospect"/,
      );
      expectKtoError(
        () => ktoLoss({ errors: ok(), labels }, { referencePoint: "ema" as ReferencePoint }),
        "INVALID_OBJECTIVE",
        /unknown reference point/,
      );
      expectKtoError(
        () => ktoOptionsFromCodes({ utility: 3 }),
        "INVALID_OBJECTIVE",
        /utility code must be an integer 0…2/,
      );
      expectKtoError(
        () => ktoOptionsFromCodes({ referencePoint: 0.5 }),
        "INVALID_OBJECTIVE",
        /referencePoint code/,
      );
      expectKtoError(() => ktoOptionsFromCodes({ betta: 5 }), "INVALID_OBJECTIVE", /unknown option "betta"/);
      expectKtoError(
        () => ktoLoss({ errors: ok(), labels }, { referencePoint: "mismatched" }),
        "INVALID_OBJECTIVE",
        /rolled prompts/,
      );
      expectKtoError(
        () => ktoLoss({ errors: ok(), labels: tf.tensor1d([1, 0]) }, {}),
        "INVALID_OBJECTIVE",
        /label 1 is 0/,
      );
      expectKtoError(
        () => ktoLoss({ errors: ok(), labels: tf.tensor1d([1, -1, 1]) }, {}),
        "INVALID_OBJECTIVE",
        /\[B\]/,
      );
    });
  });

  it("NaN / ±Inf inputs are NON_FINITE_INPUT, naming the model and the sample", () => {
    tf.tidy(() => {
      const labels = tf.tensor1d([1, -1]);
      const eps = tf.tensor2d([
        [0, 0],
        [0, 0],
      ]);
      const good = tf.tensor2d([
        [0.1, 0.2],
        [0.3, 0.4],
      ]);
      const nan = tf.tensor2d([
        [0.1, 0.2],
        [Number.NaN, 0.4],
      ]);
      const inf = tf.tensor2d([
        [Number.POSITIVE_INFINITY, 0.2],
        [0.3, 0.4],
      ]);
      expectKtoError(
        () => ktoObjective({ eps, epsPolicy: nan, epsRef: good, labels }),
        "NON_FINITE_INPUT",
        /policy denoising error of sample 1 is NaN/,
      );
      expectKtoError(
        () => ktoObjective({ eps, epsPolicy: good, epsRef: inf, labels }),
        "NON_FINITE_INPUT",
        /reference denoising error of sample 0 is Infinity/,
      );
      expectKtoError(
        () => ktoObjective({ eps: nan, epsPolicy: good, epsRef: good, labels }),
        "NON_FINITE_INPUT",
      );
      expectKtoError(
        () => dpoObjective({ eps, epsPolicy: inf, epsRef: good }),
        "NON_FINITE_INPUT",
        /winner policy/,
      );
      expectKtoError(() => sftObjective({ eps, epsPolicy: nan, labels }), "NON_FINITE_INPUT");
      const mis = { policy: tf.tensor1d([Number.NaN, 1]), reference: tf.tensor1d([1, 1]) };
      expectKtoError(
        () =>
          ktoObjective(
            { eps, epsPolicy: good, epsRef: good, labels, mismatched: mis },
            { referencePoint: "mismatched-clamped" },
          ),
        "NON_FINITE_INPUT",
        /mismatched policy/,
      );
    });
  });
});

describe("registered objectives (OBJECTIVES) and option codes", () => {
  it("kto, dpo, sft are registered; the code path equals the direct call; mismatched codes are refused", () => {
    expect(OBJECTIVES.kto?.needsReference).toBe(true);
    expect(OBJECTIVES.dpo?.needsReference).toBe(true);
    expect(OBJECTIVES.sft?.needsReference).toBe(false);
    tf.tidy(() => {
      const s = 2;
      const eps = tf.tensor4d(fixture(4 * s * s * 3, 51), [4, s, s, 3]);
      const epsPolicy = tf
        .tensor4d(fixture(4 * s * s * 3, 52), [4, s, s, 3])
        .mul(0.3)
        .add<tf.Tensor4D>(eps);
      const epsRef = tf
        .tensor4d(fixture(4 * s * s * 3, 53), [4, s, s, 3])
        .mul(0.3)
        .add<tf.Tensor4D>(eps);
      const labels = tf.tensor1d([1, 1, -1, -1]);
      const t = tf.tensor1d([1, 2, 3, 4]);
      const inputs = { eps, epsPolicy, epsRef, labels, t };
      const codes = ktoOptionsToCodes({
        beta: 7,
        lambdaU: 0.5,
        utility: "loss-averse",
        referencePoint: "class-balanced",
      });
      expect(codes).toEqual({ beta: 7, lambdaD: 1, lambdaU: 0.5, utility: 1, referencePoint: 1 });
      expect(OBJECTIVES.kto?.loss(inputs, codes).dataSync()[0]).toBeCloseTo(
        ktoObjective(inputs, {
          beta: 7,
          lambdaU: 0.5,
          utility: "loss-averse",
          referencePoint: "class-balanced",
        }).loss.dataSync()[0] ?? Number.NaN,
        6,
      );
      expect(OBJECTIVES.dpo?.loss(inputs, { beta: 7 }).dataSync()[0]).toBeCloseTo(
        dpoObjective(inputs, { beta: 7 }).loss.dataSync()[0] ?? Number.NaN,
        6,
      );
      expect(OBJECTIVES.sft?.loss(inputs, { normalize: 1 }).dataSync()[0]).toBeCloseTo(
        sftObjective(inputs, { normalize: "batch" }).loss.dataSync()[0] ?? Number.NaN,
        6,
      );
      const withMetrics = OBJECTIVES_WITH_METRICS.kto?.(inputs, codes);
      expect(withMetrics?.loss.dataSync()[0]).toBeCloseTo(
        OBJECTIVES.kto?.loss(inputs, codes).dataSync()[0] ?? Number.NaN,
        6,
      );
      expect(Object.keys(withMetrics?.metrics ?? {}).sort()).toEqual([
        "desirableShare",
        "errPolicy",
        "errRef",
        "kl",
        "loss",
        "referencePoint",
        "rewardAccuracy",
        "rewardDesirable",
        "rewardUndesirable",
      ]);
      expectKtoError(
        () => OBJECTIVES.kto?.loss(inputs, { referencePoint: 2 }),
        "INVALID_OBJECTIVE",
        /forwards on rolled prompts/,
      );
      // With z supplied (as the training loop does) any variant runs, and z is used as given.
      expect(OBJECTIVES.kto?.loss(inputs, { referencePoint: 2, z: 0.01 }).dataSync()[0]).toBeCloseTo(
        ktoObjective({ ...inputs, fixedReferencePoint: 0.01 }).loss.dataSync()[0] ?? Number.NaN,
        6,
      );
      expectKtoError(
        () => OBJECTIVES.kto?.loss({ eps, epsPolicy, t, labels }, {}),
        "INVALID_OBJECTIVE",
        /needs ε_ref/,
      );
      expectKtoError(
        () => OBJECTIVES.sft?.loss({ eps, epsPolicy, t }, {}),
        "INVALID_OBJECTIVE",
        /needs labels/,
      );
      expectKtoError(
        () => OBJECTIVES.dpo?.loss({ ...inputs, labels: tf.tensor1d([1, -1, 1, -1]) }, {}),
        "INVALID_OBJECTIVE",
        /winners/,
      );
    });
  });
});

describe("tensor hygiene and determinism", () => {
  it("no exported tensor function leaks (tf.memory().numTensors unchanged after disposing results)", async () => {
    const eps = t2(rows(4, 3, 61));
    const pol = t2(rows(4, 3, 62));
    const ref = t2(rows(4, 3, 63));
    const labels = tf.tensor1d([1, -1, 1, -1]);
    const mis = { policy: tf.tensor1d([1, 1, 1, 1]), reference: tf.tensor1d([1.1, 1, 0.9, 1]) };
    const mask = tf.tensor1d([1, 0, 1, 0]);
    const before = tf.memory().numTensors;
    const calls: (() =>
      tf.Tensor | tf.Tensor[] | { loss: tf.Scalar; metrics: Record<string, tf.Scalar | undefined> })[] = [
      () => denoisingError(eps, pol),
      () => {
        const e = sampleErrors(eps, pol, ref);
        return [e.policy, e.reference, e.drift];
      },
      () => implicitReward({ policy: mis.policy, reference: mis.reference }),
      () => referencePoint("class-balanced", mis.policy, mask),
      () => utility("loss-averse", mis.policy),
      ...REFERENCE_POINTS.map(
        (rp) => () =>
          ktoObjective({ eps, epsPolicy: pol, epsRef: ref, labels, mismatched: mis }, { referencePoint: rp }),
      ),
      () => ktoLoss({ errors: { policy: mis.policy, reference: mis.reference, drift: mis.policy }, labels }),
      () => dpoObjective({ eps, epsPolicy: pol, epsRef: ref }),
      () => sftObjective({ eps, epsPolicy: pol, labels }),
      () =>
        OBJECTIVES.kto?.loss(
          {
            eps: eps as unknown as tf.Tensor4D,
            epsPolicy: pol as unknown as tf.Tensor4D,
            epsRef: ref as unknown as tf.Tensor4D,
            labels,
            t: labels,
          },
          {},
        ) ?? [],
    ];
    for (const call of calls) {
      const out = call();
      if (out instanceof tf.Tensor || Array.isArray(out)) tf.dispose(out);
      else {
        out.loss.dispose();
        await readMetrics(out.metrics);
      }
      expect(tf.memory().numTensors).toBe(before);
    }
    // Under a gradient tape too, and on the error paths.
    const g = tf.grad((x: tf.Tensor) =>
      tf.tidy(() => ktoObjective({ eps, epsPolicy: x, epsRef: ref, labels }).loss),
    )(pol);
    g.dispose();
    expect(() => ktoObjective({ eps, epsPolicy: pol, epsRef: ref, labels }, { beta: 0 })).toThrow(KtoError);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([eps, pol, ref, labels, mask, mis.policy, mis.reference]);
  });

  it("the same inputs give bit-identical losses, gradients and metrics", () => {
    const c = ktoCase(5, 6, [1, -1, 1, 1, -1], { utility: "risk-seeking", referencePoint: "class-balanced" });
    const a = tfKto(c);
    const b = tfKto(c);
    expect(b.loss).toBe(a.loss);
    expect(b.grad).toEqual(a.grad);
    const m = () =>
      readMetricsSync(
        tf.tidy(() =>
          ktoObjective({
            eps: t2(c.eps),
            epsPolicy: t2(c.epsPolicy),
            epsRef: t2(c.epsRef),
            labels: tf.tensor1d(c.labels),
          }),
        ).metrics,
      );
    expect(m()).toEqual(m());
  });

  it("DPO metrics: margins and accuracy over pairs", () => {
    const w = {
      policy: tf.tensor1d([1, 1]),
      reference: tf.tensor1d([1.2, 0.9]),
      drift: tf.tensor1d([0.1, 0.3]),
    };
    const l = {
      policy: tf.tensor1d([1, 1]),
      reference: tf.tensor1d([0.8, 1.0]),
      drift: tf.tensor1d([0.2, 0.2]),
    };
    const out = dpoLossWithMetrics({ winner: w, loser: l }, { beta: 2 });
    const m = readMetricsSync(out.metrics);
    // g_w = [0.2, −0.1], g_l = [−0.2, 0]: margins [0.4, −0.1]; loss = mean softplus(−½·2·margin).
    expect(m.rewardDesirable).toBeCloseTo(0.05, 6);
    expect(m.rewardUndesirable).toBeCloseTo(-0.1, 6);
    expect(m.rewardAccuracy).toBe(0.5);
    expect(m.kl).toBeCloseTo(0.2, 6);
    expect(out.loss.dataSync()[0]).toBeCloseTo(
      (Math.log1p(Math.exp(-0.4)) + Math.log1p(Math.exp(0.1))) / 2,
      6,
    );
    tf.dispose([out.loss, w.policy, w.reference, w.drift, l.policy, l.reference, l.drift]);
  });
});

describe("whole-batch metrics on the main thread (batch-metrics.ts) agree with the tfjs losses", () => {
  it("KTO (every utility and in-batch reference point), DPO and SFT: float64 metrics = tfjs metrics", () => {
    const B = 6;
    const s = 2;
    const eps = tf.tensor4d(fixture(B * s * s * 3, 61), [B, s, s, 3]);
    const epsPolicy = tf
      .tensor4d(fixture(B * s * s * 3, 62), [B, s, s, 3])
      .mul(0.2)
      .add<tf.Tensor4D>(eps);
    const epsRef = tf
      .tensor4d(fixture(B * s * s * 3, 63), [B, s, s, 3])
      .mul(0.2)
      .add<tf.Tensor4D>(eps);
    const labelValues = [1, -1, 1, 1, -1, -1];
    const labels = tf.tensor1d(labelValues);
    const per = (a: tf.Tensor, b: tf.Tensor) =>
      tf.tidy(() => tf.mean(tf.square(tf.sub(a, b)), [1, 2, 3]).dataSync() as Float32Array);
    const stats = { errPolicy: per(eps, epsPolicy), errRef: per(eps, epsRef), drift: per(epsRef, epsPolicy) };
    const inputs = { eps, epsPolicy, epsRef, labels, t: tf.tensor1d([1, 2, 3, 4, 5, 6]) };
    const compare = (name: string, codes: Record<string, number>, lbl: number[] | undefined) => {
      const fn = OBJECTIVES_WITH_METRICS[name];
      if (!fn) throw new Error(name);
      const { loss, metrics } = fn(inputs, codes);
      loss.dispose();
      const tfjs = readMetricsSync(metrics);
      const f64 = objectiveMetricsOf(name, codes, stats, lbl);
      for (const [k, v] of Object.entries(tfjs))
        expect(f64[k as keyof typeof f64], `${name} ${k}`).toBeCloseTo(v, 5);
      expect(Object.keys(f64).sort()).toEqual(Object.keys(tfjs).sort());
    };
    for (const utility of ["sigmoid", "loss-averse", "risk-seeking"] as const) {
      for (const referencePoint of ["batch", "class-balanced"] as const) {
        compare(
          "kto",
          ktoOptionsToCodes({ beta: 40, lambdaD: 1.5, lambdaU: 0.7, utility, referencePoint }),
          labelValues,
        );
      }
    }
    compare("sft", { normalize: 0 }, labelValues);
    compare("sft", { normalize: 1 }, labelValues);
    // DPO: [winners, losers] layout, pair i = rows i and 3 + i.
    const dpoLabels = [1, 1, 1, -1, -1, -1];
    labels.dispose();
    Object.assign(inputs, { labels: tf.tensor1d(dpoLabels) });
    compare("dpo", { beta: 30 }, dpoLabels);
    // z supplied from outside replaces the in-batch estimate, in both implementations.
    const codes = ktoOptionsToCodes({ beta: 40, referencePoint: "mismatched" });
    Object.assign(inputs, { labels: tf.tensor1d(labelValues) });
    const { loss, metrics } = ktoFromInputs(inputs, { ...codes, z: 0.003 });
    loss.dispose();
    const tfjs = readMetricsSync(metrics);
    expect(tfjs.referencePoint).toBeCloseTo(0.003, 7);
    expect(objectiveMetricsOf("kto", codes, stats, labelValues, 0.003).loss).toBeCloseTo(
      tfjs.loss ?? Number.NaN,
      5,
    );
  });
});
