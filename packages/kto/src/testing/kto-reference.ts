// Independent float64 reference of the alignment losses (digest §1.2 and §2), in plain TS with
// hand-derived gradients, for the golden-value tests of src/objective/. Not exported from the package.
// Samples are plain arrays of their flattened elements; gradients are w.r.t. the policy prediction ε_θ.

export type RefUtility = "sigmoid" | "loss-averse" | "risk-seeking";
export type RefReferencePoint = "batch" | "class-balanced" | "mismatched" | "mismatched-clamped";

const sigma = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const softplus = (x: number): number => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
const at = (a: readonly number[], i: number): number => {
  const v = a[i];
  if (v === undefined) throw new RangeError(`index ${i} outside [0, ${a.length})`);
  return v;
};
const mean = (a: readonly number[]): number => a.reduce((s, v) => s + v, 0) / a.length;

/** ‖ε − pred‖²_mean per sample. */
export function refError(eps: readonly number[][], pred: readonly number[][]): number[] {
  return eps.map((e, b) => {
    const p = pred[b] ?? [];
    return e.reduce((s, v, j) => s + (at(p, j) - v) ** 2, 0) / e.length;
  });
}

export type RefKtoCase = {
  eps: number[][];
  epsPolicy: number[][];
  epsRef: number[][];
  labels: number[]; // ±1
  beta: number;
  lambdaD: number;
  lambdaU: number;
  utility: RefUtility;
  referencePoint: RefReferencePoint;
  /** g on rolled prompts, for the mismatched variants. */
  mismatchedReward?: number[];
  /** Use this z instead of computing it (finite-difference checks: z is detached in the loss). */
  fixedZ?: number;
};

/** U(u) and U'(u). */
function util(kind: RefUtility, u: number): [number, number] {
  switch (kind) {
    case "sigmoid":
      return [sigma(u), sigma(u) * sigma(-u)];
    case "loss-averse":
      return [-softplus(-u), sigma(-u)];
    case "risk-seeking":
      return [softplus(u), sigma(u)];
  }
}

export function refReferencePoint(
  kind: RefReferencePoint,
  g: readonly number[],
  labels: readonly number[],
  mismatched?: readonly number[],
): number {
  switch (kind) {
    case "batch":
      return Math.max(0, mean(g));
    case "class-balanced": {
      const d = g.filter((_v, i) => at(labels, i) > 0);
      const u = g.filter((_v, i) => at(labels, i) < 0);
      return 0.5 * ((d.length ? mean(d) : 0) + (u.length ? mean(u) : 0));
    }
    case "mismatched":
      return mean(mismatched ?? []);
    case "mismatched-clamped":
      return Math.max(0, mean(mismatched ?? []));
  }
}

/** KTO loss, z and dL/dε_θ [B][D] in float64. */
export function refKto(c: RefKtoCase): { loss: number; z: number; grad: number[][]; u: number[] } {
  const m = refError(c.eps, c.epsPolicy);
  const r = refError(c.eps, c.epsRef);
  const g = m.map((mi, i) => at(r, i) - mi);
  const z = c.fixedZ ?? refReferencePoint(c.referencePoint, g, c.labels, c.mismatchedReward);
  const B = g.length;
  let loss = 0;
  const u: number[] = [];
  const dErr: number[] = [];
  g.forEach((gi, i) => {
    const s = at(c.labels, i) > 0 ? 1 : -1;
    const lambda = s > 0 ? c.lambdaD : c.lambdaU;
    const ui = s * c.beta * (gi - z);
    const [U, dU] = util(c.utility, ui);
    loss += (lambda * (1 - U)) / B;
    u.push(ui);
    // dL/derr_i = −λ U'(u) · du/derr_i / B, du/derr_i = −s β (z detached)
    dErr.push((lambda * dU * s * c.beta) / B);
  });
  const grad = c.epsPolicy.map((p, i) =>
    p.map((v, j) => (at(dErr, i) * 2 * (v - at(c.eps[i] ?? [], j))) / p.length),
  );
  return { loss, z, grad, u };
}

/** DPO (official ½β form) over pairs: winners and losers [P][D] each; gradient w.r.t. both policy predictions. */
export function refDpo(c: {
  eps: [number[][], number[][]];
  epsPolicy: [number[][], number[][]];
  epsRef: [number[][], number[][]];
  beta: number;
}): { loss: number; gradWinner: number[][]; gradLoser: number[][] } {
  const [ew, el] = c.eps;
  const mw = refError(ew, c.epsPolicy[0]);
  const ml = refError(el, c.epsPolicy[1]);
  const rw = refError(ew, c.epsRef[0]);
  const rl = refError(el, c.epsRef[1]);
  const P = mw.length;
  let loss = 0;
  const dW: number[] = [];
  for (let i = 0; i < P; i++) {
    const x = 0.5 * c.beta * (at(rw, i) - at(mw, i) - (at(rl, i) - at(ml, i)));
    loss += softplus(-x) / P;
    // dL/dx = −σ(−x)/P; dx/derr_w = −½β; dx/derr_l = +½β
    dW.push((sigma(-x) * 0.5 * c.beta) / P);
  }
  const grad = (pol: number[][], eps: number[][], sign: number) =>
    pol.map((p, i) => p.map((v, j) => (sign * at(dW, i) * 2 * (v - at(eps[i] ?? [], j))) / p.length));
  return { loss, gradWinner: grad(c.epsPolicy[0], ew, 1), gradLoser: grad(c.epsPolicy[1], el, -1) };
}

/** SFT: mean (or Σ/B) of the policy error over desirable samples, and its gradient. */
export function refSft(
  eps: number[][],
  epsPolicy: number[][],
  labels: number[],
  normalize: "desirable" | "batch",
): { loss: number; grad: number[][] } {
  const m = refError(eps, epsPolicy);
  const nD = labels.filter((y) => y > 0).length;
  const denom = normalize === "desirable" ? Math.max(nD, 1) : labels.length;
  const loss = m.reduce((s, v, i) => s + (at(labels, i) > 0 ? v : 0), 0) / denom;
  const grad = epsPolicy.map((p, i) =>
    p.map((v, j) => (at(labels, i) > 0 ? (2 * (v - at(eps[i] ?? [], j))) / p.length / denom : 0)),
  );
  return { loss, grad };
}

/** Central finite differences of a scalar function of a [B][D] array (checks the hand-derived gradients). */
export function finiteDifference(f: (x: number[][]) => number, x: number[][], h = 1e-6): number[][] {
  return x.map((row, i) =>
    row.map((_v, j) => {
      const plus = x.map((r) => [...r]);
      const minus = x.map((r) => [...r]);
      (plus[i] ?? [])[j] = at(row, j) + h;
      (minus[i] ?? [])[j] = at(row, j) - h;
      return (f(plus) - f(minus)) / (2 * h);
    }),
  );
}
