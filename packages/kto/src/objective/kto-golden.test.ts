// Stored golden values (kto-golden.json; its "how" field says how they were generated): every KTO utility ×
// reference point, DPO and SFT — loss and ∂L/∂ε_θ of the tfjs implementation on the wasm backend vs the
// float64 numbers, so a change to either the implementation or the reference shows up here.
import { readFileSync } from "node:fs";

import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";

import { relativeL2, useBackend } from "../testing/tf";
import { dpoObjective } from "./dpo-loss";
import { ktoObjective } from "./kto-loss";
import { type ReferencePoint, type Utility } from "./options";
import { sftObjective } from "./sft-loss";

type Grid = number[][];
type Golden = {
  how: string;
  kto: {
    inputs: {
      eps: Grid;
      epsRef: Grid;
      epsPolicy: Grid;
      labels: number[];
      beta: number;
      lambdaD: number;
      lambdaU: number;
      mismatched: { policy: number[]; reference: number[] };
    };
    cases: { utility: Utility; referencePoint: ReferencePoint; loss: number; z: number; grad: Grid }[];
  };
  dpo: {
    inputs: { eps: [Grid, Grid]; epsRef: [Grid, Grid]; epsPolicy: [Grid, Grid]; beta: number };
    loss: number;
    gradWinner: Grid;
    gradLoser: Grid;
  };
  sft: {
    inputs: { eps: Grid; epsPolicy: Grid; labels: number[] };
    desirable: { loss: number; grad: Grid };
    batch: { loss: number; grad: Grid };
  };
};

// safe because the file is written by src/testing/generate-kto-golden.ts with exactly this shape.
const golden = JSON.parse(readFileSync(new URL("./kto-golden.json", import.meta.url), "utf8")) as Golden;

beforeAll(() => useBackend("wasm"));

function lossAndGrad(f: (x: tf.Tensor) => tf.Scalar, x: Grid): { loss: number; grad: Float32Array } {
  const input = tf.tensor2d(x);
  const { value, grad } = tf.valueAndGrad(f)(input);
  const out = { loss: value.dataSync()[0] ?? Number.NaN, grad: grad.dataSync() as Float32Array };
  tf.dispose([input, value, grad]);
  return out;
}

describe(`golden values (${golden.how.slice(0, 60)}…)`, () => {
  const k = golden.kto.inputs;
  for (const c of golden.kto.cases) {
    it(`KTO ${c.utility} / ${c.referencePoint}`, () => {
      const [eps, epsRef, labels] = [tf.tensor2d(k.eps), tf.tensor2d(k.epsRef), tf.tensor1d(k.labels)];
      const mismatched = {
        policy: tf.tensor1d(k.mismatched.policy),
        reference: tf.tensor1d(k.mismatched.reference),
      };
      const opts = {
        beta: k.beta,
        lambdaD: k.lambdaD,
        lambdaU: k.lambdaU,
        utility: c.utility,
        referencePoint: c.referencePoint,
      };
      const got = lossAndGrad(
        (x) => tf.tidy(() => ktoObjective({ eps, epsPolicy: x, epsRef, labels, mismatched }, opts).loss),
        k.epsPolicy,
      );
      expect(Math.abs(got.loss - c.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(c.loss)));
      expect(relativeL2(got.grad, c.grad.flat())).toBeLessThan(1e-4);
      tf.dispose([eps, epsRef, labels, mismatched.policy, mismatched.reference]);
    });
  }

  it("DPO (½β, pairs)", () => {
    const d = golden.dpo.inputs;
    const eps = tf.tensor2d([...d.eps[0], ...d.eps[1]]);
    const epsRef = tf.tensor2d([...d.epsRef[0], ...d.epsRef[1]]);
    const got = lossAndGrad(
      (x) => tf.tidy(() => dpoObjective({ eps, epsPolicy: x, epsRef }, { beta: d.beta }).loss),
      [...d.epsPolicy[0], ...d.epsPolicy[1]],
    );
    expect(got.loss).toBeCloseTo(golden.dpo.loss, 5);
    expect(
      relativeL2(got.grad, [...golden.dpo.gradWinner.flat(), ...golden.dpo.gradLoser.flat()]),
    ).toBeLessThan(1e-4);
    tf.dispose([eps, epsRef]);
  });

  for (const normalize of ["desirable", "batch"] as const) {
    it(`SFT (${normalize} mean)`, () => {
      const s = golden.sft.inputs;
      const [eps, labels] = [tf.tensor2d(s.eps), tf.tensor1d(s.labels)];
      const got = lossAndGrad(
        (x) => tf.tidy(() => sftObjective({ eps, epsPolicy: x, labels }, { normalize }).loss),
        s.epsPolicy,
      );
      expect(got.loss).toBeCloseTo(golden.sft[normalize].loss, 5);
      expect(relativeL2(got.grad, golden.sft[normalize].grad.flat())).toBeLessThan(1e-5);
      tf.dispose([eps, labels]);
    });
  }
});
