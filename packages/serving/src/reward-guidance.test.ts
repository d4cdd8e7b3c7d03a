import { describe, expect, test } from "vitest";

import { isServingError } from "./errors";
import { ModelHost } from "./model-host";
import { MAX_REWARD_GUIDANCE, rewardGuidedDenoiser, rewardGuidedModel } from "./reward-guidance";
import { sampleImages } from "./sampler";
import {
  buildContractModel,
  CONTRACT_VOCAB,
  contractEps,
  defaultContractSpec,
  linearAlphasCumprod,
  type ContractModelSpec,
} from "./testing/contract-model";
import { Tokenizer } from "./tokenizer";

// Two contract models (ε linear in x, t and the prompt's table entries): "reference" and "policy". ε_ref + w·(ε_θ −
// ε_ref) of two such models is again one, with every coefficient mixed the same way — an independent oracle.
const refSpec = defaultContractSpec();
const polSpec = defaultContractSpec({
  a: 0.25,
  b: 0.0007,
  table: [0, 0.02, 0.3, -0.25, 0.05, 0.5],
  channelBias: [0.05, 0, 0.02],
});
const mix = (w: number): ContractModelSpec => {
  const m = (r: number, p: number) => r + w * (p - r);
  return defaultContractSpec({
    a: m(refSpec.a, polSpec.a),
    b: m(refSpec.b, polSpec.b),
    table: refSpec.table.map((r, i) => m(r, polSpec.table[i] ?? 0)),
    channelBias: [0, 1, 2].map((c) => m(refSpec.channelBias[c] ?? 0, polSpec.channelBias[c] ?? 0)) as [
      number,
      number,
      number,
    ],
  });
};
const alphasCumprod = linearAlphasCumprod(1000);

/** Three real ONNX Runtime hosts on contract graphs, released afterwards. */
async function withHosts(
  specs: readonly [ContractModelSpec, ContractModelSpec, ContractModelSpec],
  fn: (a: ModelHost, b: ModelHost, c: ModelHost) => Promise<void> | void,
): Promise<void> {
  const create = (s: ContractModelSpec) =>
    ModelHost.create(buildContractModel(s), { imageSize: s.imageSize, contextLength: s.contextLength });
  const [a, b, c] = await Promise.all([create(specs[0]), create(specs[1]), create(specs[2])]);
  try {
    await fn(a, b, c);
  } finally {
    await Promise.all([a.release(), b.release(), c.release()]);
  }
}

const model = (
  host: ModelHost | ReturnType<typeof rewardGuidedDenoiser>,
  id: string,
  vocab = CONTRACT_VOCAB,
) => ({
  host,
  tokenizer: new Tokenizer(vocab, refSpec.contextLength),
  alphasCumprod,
  manifest: { id, vocab },
});

describe("reward guidance ε_ref + w·(ε_θ − ε_ref)", () => {
  test("forward matches the float64 mix of the two analytic models at w = 0, 1, 2.5", async () => {
    await withHosts([refSpec, polSpec, mix(1)], async (ref, pol) => {
      const n = 3;
      const pix = refSpec.imageSize ** 2 * 3;
      const tokens = BigInt64Array.from([2n, 3n, 0n, 0n, 4n, 5n, 1n, 0n, 0n, 0n, 0n, 0n]);
      const x = Float32Array.from({ length: n * pix }, (_, i) => Math.sin(i * 0.37));
      const t = Float32Array.from([10, 500, 999]);
      for (const w of [0, 1, 2.5]) {
        const out = await rewardGuidedDenoiser(ref, pol, w).forward({
          batch: n,
          tokens,
          x,
          t,
        });
        const want = contractEps(mix(w), tokens, x, t, n);
        let worst = 0;
        for (let i = 0; i < want.length; i++)
          worst = Math.max(worst, Math.abs((out[i] ?? 0) - (want[i] ?? 0)));
        expect(worst, `w = ${w}`).toBeLessThan(2e-5); // float32 forwards and combination
      }
      // w = 0 is the reference's own output, bit for bit (r + 0·(p − r) = r).
      const ref0 = await ref.forward({ batch: n, tokens, x, t });
      const guided0 = await rewardGuidedDenoiser(ref, pol, 0).forward({ batch: n, tokens, x, t });
      expect(Array.from(guided0)).toEqual(Array.from(ref0));
    });
  });

  test("sampling through the composite equals sampling the mixed model (w = 3, guided, ancestral)", async () => {
    await withHosts([refSpec, polSpec, mix(3)], async (ref, pol, mixed) => {
      const request = {
        prompts: ["red circle", "blue square", ""],
        seeds: [1, 2, 3],
        steps: 12,
        guidanceScale: 3,
        eta: 1,
      };
      const guided = rewardGuidedModel(model(ref, "parent"), model(pol, "aligned"), 3);
      expect(guided.manifest.id).toBe("aligned@w3");
      const a = await sampleImages(guided, request);
      const b = await sampleImages(model(mixed, "mixed"), request);
      let worst = 0;
      a.images.forEach((im, k) =>
        im.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - (b.images[k]?.data[i] ?? 0))))),
      );
      expect(worst).toBeLessThanOrEqual(1); // uint8 levels: float32 rounding may tip one
      // And differs from the policy alone: the weight is applied, not ignored.
      const p = await sampleImages(model(pol, "aligned"), request);
      expect(p.images[0]?.data).not.toEqual(a.images[0]?.data);
    });
  });

  test("bad weights and mismatched versions are refused with the reason", async () => {
    await withHosts([refSpec, polSpec, defaultContractSpec({ imageSize: 4 })], (ref, pol, small) => {
      for (const w of [-0.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_REWARD_GUIDANCE + 1]) {
        try {
          rewardGuidedDenoiser(ref, pol, w);
          expect.unreachable(`weight ${w} accepted`);
        } catch (e) {
          expect(isServingError(e) && e.code === "INVALID_REQUEST").toBe(true);
          expect(String(e)).toMatch(/reward guidance weight must be a number in \[0, 20\]/);
        }
      }
      expect(() => rewardGuidedDenoiser(ref, small, 2)).toThrow(/one shape: reference 8px.*policy 4px/);
      expect(() =>
        rewardGuidedModel(
          model(ref, "parent"),
          model(pol, "other", [...CONTRACT_VOCAB.slice(0, 5), "star"]),
          2,
        ),
      ).toThrow(/vocabularies differ/);
      expect(() =>
        rewardGuidedModel(
          model(ref, "parent"),
          { ...model(pol, "other"), alphasCumprod: linearAlphasCumprod(500) },
          2,
        ),
      ).toThrow(/noise schedules differ/);
    });
  });
});
