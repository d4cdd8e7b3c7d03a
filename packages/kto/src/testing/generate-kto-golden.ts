// Writes src/objective/kto-golden.json: golden losses and ∂L/∂ε_θ of every Diffusion-KTO variant, DPO and SFT,
// computed in float64 by the independent reference in ./kto-reference.ts on inputs from `fixture` (xorshift32,
// seeds below). Run: `pnpm exec tsx packages/kto/src/testing/generate-kto-golden.ts`; commit the JSON.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import {
  refDpo,
  refKto,
  refSft,
  type RefKtoCase,
  type RefReferencePoint,
  type RefUtility,
} from "./kto-reference";
import { fixture } from "./tf";

const rows = (B: number, D: number, seed: number, scale = 1, offset?: number[][]): number[][] => {
  const f = fixture(B * D, seed);
  return Array.from({ length: B }, (_v, b) =>
    Array.from({ length: D }, (_w, j) => Math.fround((f[b * D + j] ?? 0) * scale + (offset?.[b]?.[j] ?? 0))),
  );
};

const eps = rows(5, 6, 11);
const base = {
  eps,
  epsRef: rows(5, 6, 12, 0.6, eps),
  epsPolicy: rows(5, 6, 13, 0.6, eps),
  labels: [1, -1, 1, 1, -1],
  beta: 3,
  lambdaD: 1.5,
  lambdaU: 0.7,
};
const mismatched = { policy: [0.9, 1.1, 0.7, 1.3, 1.0], reference: [1.0, 1.05, 0.9, 1.2, 1.05] };
const kto = (["sigmoid", "loss-averse", "risk-seeking"] as RefUtility[]).flatMap((utility) =>
  (["batch", "class-balanced", "mismatched", "mismatched-clamped"] as RefReferencePoint[]).map(
    (referencePoint) => {
      const c: RefKtoCase = {
        ...base,
        utility,
        referencePoint,
        mismatchedReward: mismatched.reference.map((r, i) => r - (mismatched.policy[i] ?? 0)),
      };
      const r = refKto(c);
      return { utility, referencePoint, loss: r.loss, z: r.z, grad: r.grad };
    },
  ),
);
const P = 3;
const ew = rows(P, 5, 21);
const el = rows(P, 5, 22);
const dpoIn = {
  eps: [ew, el] as [number[][], number[][]],
  epsRef: [rows(P, 5, 23, 0.5, ew), rows(P, 5, 24, 0.5, el)] as [number[][], number[][]],
  epsPolicy: [rows(P, 5, 25, 0.5, ew), rows(P, 5, 26, 0.5, el)] as [number[][], number[][]],
  beta: 4,
};
const dpo = refDpo(dpoIn);
const sftEps = rows(5, 4, 31);
const sftPol = rows(5, 4, 32, 0.5, sftEps);
const sftLabels = [1, -1, 1, -1, 1];

const out = {
  how: "float64 reference src/testing/kto-reference.ts (hand-derived gradients, checked against central finite differences in kto-loss.test.ts) on float32-rounded fixture() inputs; regenerate with `pnpm exec tsx packages/kto/src/testing/generate-kto-golden.ts`",
  kto: { inputs: { ...base, mismatched }, cases: kto },
  dpo: { inputs: dpoIn, loss: dpo.loss, gradWinner: dpo.gradWinner, gradLoser: dpo.gradLoser },
  sft: {
    inputs: { eps: sftEps, epsPolicy: sftPol, labels: sftLabels },
    desirable: refSft(sftEps, sftPol, sftLabels, "desirable"),
    batch: refSft(sftEps, sftPol, sftLabels, "batch"),
  },
};
const path = fileURLToPath(new URL("../objective/kto-golden.json", import.meta.url));
writeFileSync(path, JSON.stringify(out, null, 1) + "\n");
console.log(`wrote ${path}`);
