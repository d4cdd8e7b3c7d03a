// `pnpm bench alignment` end to end at a tiny size on the committed base model (real ONNX Runtime sampling, real
// tfjs fine-tuning of every method, real export + parity gate, three rounds), plus its statistics helpers and its
// refusal of bad options. Bounded: about a minute on the shared 2-core machine.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { JUDGE_FEATURES, parseRaterSpec, type JudgeFeatures } from "@likewise/synth";
import { afterAll, describe, expect, it } from "vitest";

import { POOL_SAMPLING } from "../../apps/trainer/src/sampling.ts";
import alignmentFit, { parseSpec } from "../../bench/alignment-fit.ts";
import { runAlignmentBench } from "../../bench/alignment.ts";
import { replaceSection } from "../../bench/lib/alignment/benchmarks-md.ts";
import { cellMetrics } from "../../bench/lib/alignment/evaluate.ts";
import { METHODS, methodConfig, TRAINABLE_SUBSETS } from "../../bench/lib/alignment/finetune.ts";
import { trainableOption } from "../../apps/trainer/src/rounds/runner.ts";
import { parseOptions, UsageError } from "../../bench/lib/alignment/options.ts";
import {
  likedDistributionLikeProbability,
  oracleLabels,
  selectionCeiling,
  worldSet,
  type LabelSet,
} from "../../bench/lib/alignment/labels.ts";
import { featureHeadroom, quantile, voteEvidence } from "../../bench/lib/alignment/evidence.ts";
import {
  buildReport,
  evidenceSection,
  reportMarkdown,
  samplerName,
  selectionParagraph,
} from "../../bench/lib/alignment/report.ts";
import {
  bestOfKl,
  expectedBestOf,
  meanInterval,
  medianImageIndex,
  pairedDifference,
  winOf,
} from "../../bench/lib/alignment/stats.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const model = join(root, "models", "base");
const dir = mkdtempSync(join(tmpdir(), "likewise-alignment-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `pnpm bench <args>` as a child process (exit code and stderr as users see them). */
const benchCli = (...args: string[]) =>
  spawnSync(join(root, "node_modules", ".bin", "tsx"), [join(root, "bench", "cli.ts"), ...args], {
    cwd: root,
    encoding: "utf8",
  });

// A rater population that likes about half of the base model's images (a little more when the judge rates the image
// higher), so every method — SFT needs likes, DPO needs a liked and a disliked image of one prompt — has data.
const raters = join(dir, "raters.json");
writeFileSync(
  raters,
  JSON.stringify({
    name: "half",
    population: [{ name: "half", share: 1, kind: "logistic", weights: { quality: 1 }, bias: -0.5, noise: 1 }],
  }),
);

describe("alignment benchmark statistics", () => {
  it("t intervals, paired differences, the median image and ties", () => {
    const i = meanInterval([1, 2, 3, 4]);
    expect(i.mean).toBe(2.5);
    // sd = 1.2910, t(3) = 3.182 → 3.182 · 1.2910 / 2
    expect(i.half).toBeCloseTo((3.182 * Math.sqrt(5 / 3)) / 2, 6);
    expect(Number.isNaN(meanInterval([0.3]).half)).toBe(true);
    expect(pairedDifference([1, 2, 3], [0, 2, 1]).mean).toBeCloseTo(1, 12);
    expect(medianImageIndex([0.9, 0.1, 0.5])).toBe(2);
    expect(medianImageIndex([0.4, 0.1, 0.9, 0.2])).toBe(3); // lower middle of an even count: 0.2
    expect([winOf(1, 0), winOf(0, 1), winOf(0.5, 0.5)]).toEqual([1, 0, 0.5]);
  });

  it("the selection ceiling: exact best-of-n without replacement, its KL, per prompt", () => {
    // Hand-counted: the 6 pairs of {1,2,3,4} have maxima 2,3,4,3,4,4 → 20/6; best of all 4 is the maximum.
    expect(expectedBestOf([4, 1, 3, 2], 2)).toBeCloseTo(20 / 6, 12);
    expect(expectedBestOf([4, 1, 3, 2], 1)).toBeCloseTo(2.5, 12);
    expect(expectedBestOf([4, 1, 3, 2], 4)).toBeCloseTo(4, 12);
    // Brute force over the 56 triples of 8 values.
    const v = [0.31, 0.05, 0.77, 0.4, 0.12, 0.66, 0.28, 0.93];
    let sum = 0;
    let count = 0;
    for (let a = 0; a < 8; a++)
      for (let b = a + 1; b < 8; b++)
        for (let c = b + 1; c < 8; c++) {
          sum += Math.max(v[a] as number, v[b] as number, v[c] as number);
          count++;
        }
    expect(expectedBestOf(v, 3)).toBeCloseTo(sum / count, 12);
    expect(() => expectedBestOf(v, 9)).toThrow(/1 ≤ n ≤ 8/);
    expect(() => expectedBestOf(v, 0)).toThrow(RangeError);
    // KL of best-of-n: log n − (n−1)/n; 0 for n = 1, log 2 − ½ for n = 2.
    expect(bestOfKl(1)).toBe(0);
    expect(bestOfKl(2)).toBeCloseTo(Math.log(2) - 0.5, 12);
    // Per caption, not pooled: captions of 4 and 5 images (a caption drawn twice pools its images); n stops at the
    // fewest images a caption has, and captions are weighted by their image count.
    const set = {
      source: "m",
      prompts: ["a", "a", "a", "a", "b", "b", "b", "b", "b"],
      images: [],
      labels: new Float32Array(9),
      likeProbabilities: [0.1, 0.2, 0.3, 0.4, 0.5, 0.5, 0.5, 0.9, 0.99],
      fidelity: [],
    } satisfies LabelSet;
    const a = [0.1, 0.2, 0.3, 0.4];
    const b = [0.5, 0.5, 0.5, 0.9, 0.99];
    const rows = selectionCeiling(set);
    expect(rows.map((r) => r.n)).toEqual([1, 2, 4]);
    expect(rows[0]?.likeProbability).toBeCloseTo((0.1 + 0.2 + 0.3 + 0.4 + 0.5 * 3 + 0.9 + 0.99) / 9, 12);
    expect(rows[1]?.likeProbability).toBeCloseTo(
      (4 * expectedBestOf(a, 2) + 5 * expectedBestOf(b, 2)) / 9,
      12,
    );
    expect(rows[2]?.likeProbability).toBeCloseTo((4 * 0.4 + 5 * expectedBestOf(b, 4)) / 9, 12);
    // 0.488 → 0.601 at best of 2 (+11.4 pt), 0.718 at best of 4 (+23.0): +15 is best-of-4, and short of it at n ≤ 2.
    expect(selectionParagraph(rows)).toMatch(/per prompt is best-of-4 selection/);
    expect(selectionParagraph(rows.slice(0, 2))).toMatch(/gain is beyond best-of-2 selection/);
    // With a stronger second caption, 0.354 → 0.535 at best of 2 (+18 pt): the paragraph names that n.
    const strong = selectionCeiling({
      ...set,
      likeProbabilities: [0.1, 0.2, 0.3, 0.4, 0.1, 0.1, 0.1, 0.9, 0.99],
    });
    expect(strong[1]?.likeProbability).toBeCloseTo(0.5348148148148147, 12);
    expect(selectionParagraph(strong)).toMatch(/per prompt is best-of-2 selection/);
    expect(selectionParagraph(rows.slice(0, 1))).toBeNull();
    // The liked images' own distribution per caption: Σ P² / Σ P, captions weighted by their images.
    // a: (0.01 + 0.04 + 0.09 + 0.16) / 1.0 = 0.3; b: (3 · 0.25 + 0.81 + 0.9801) / 3.39 = 0.74930…
    const liked = likedDistributionLikeProbability(set);
    expect(liked).toBeCloseTo((4 * 0.3 + 5 * (2.5401 / 3.39)) / 9, 12);
    expect(selectionParagraph(rows, liked)).toMatch(
      /liked images' distribution per caption .* gives 55\.0% \(\+6\.2 pt\)/,
    );
  });

  it("oracle labels keep each caption's number of likes and give them to its highest-P(like) images", () => {
    const set = {
      source: "m",
      prompts: ["a", "b", "a", "a", "b", "b"],
      images: [],
      labels: Float32Array.from([1, -1, -1, -1, 1, 1]),
      likeProbabilities: [0.1, 0.9, 0.5, 0.5, 0.2, 0.3],
      fidelity: [],
    } satisfies LabelSet;
    const o = oracleLabels(set);
    // a: one like → the first of its two 0.5 images (index 2); b: two likes → 0.9 and 0.3 (indices 1 and 5).
    expect(Array.from(o.labels)).toEqual([-1, 1, 1, -1, -1, 1]);
    expect(o.likeProbabilities).toBe(set.likeProbabilities);
    expect(Array.from(set.labels)).toEqual([1, -1, -1, -1, 1, 1]); // the votes are left as they were
  });

  it("vote evidence: within-caption liked − disliked feature differences, votes vs oracle labels; feature headroom", () => {
    const features = (fidelity: number[], sharpness: number[]): JudgeFeatures[] =>
      fidelity.map((f, i) => ({
        ...(Object.fromEntries(JUDGE_FEATURES.map((k) => [k, 0.5])) as Record<keyof JudgeFeatures, number>),
        fidelity: f,
        sharpness: sharpness[i] ?? 0,
      }));
    const fidelity = [0.9, 0.7, 0.7, 0.8, 0.7, 0.5, 0.8, 0.6, 0.6];
    const sharpness = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
    const set = {
      source: "m",
      prompts: ["a", "a", "a", "b", "b", "c", "c", "d", "d"],
      images: [],
      labels: Float32Array.from([1, -1, -1, 1, -1, -1, 1, -1, -1]),
      likeProbabilities: [0.1, 0.5, 0.2, 0.6, 0.4, 0.3, 0.4, 0.1, 0.1],
      fidelity,
      features: features(fidelity, sharpness),
    } satisfies LabelSet;
    const ev = voteEvidence(set);
    expect(ev).toMatchObject({ captions: 4, mixedCaptions: 3 });
    const fid = ev.rows.find((r) => r.feature === "fidelity");
    // Votes: a 0.9 − 0.7 = 0.2, b 0.1, c 0.3 (d has no like): mean 0.2, sd 0.1, se 0.1/√3, t(2) = 4.303.
    expect(fid?.votes.mean).toBeCloseTo(0.2, 12);
    expect(fid?.votes.z).toBeCloseTo(0.2 / (0.1 / Math.sqrt(3)), 9);
    expect(fid?.votes.half).toBeCloseTo((4.303 * 0.1) / Math.sqrt(3), 9);
    // Oracle: a's like moves to its P 0.5 image (0.7 vs mean 0.8: −0.1), b and c keep theirs: mean 0.1, sd 0.2.
    expect(fid?.oracle.mean).toBeCloseTo(0.1, 12);
    expect(fid?.oracle.z).toBeCloseTo(0.1 / (0.2 / Math.sqrt(3)), 9);
    // RMS of the within-caption sample variances 0.04/3, 0.005, 0.045, 0.
    expect(fid?.withinSd).toBeCloseTo(Math.sqrt((0.04 / 3 + 0.005 + 0.045) / 4), 12);
    // The raters' true P(like): votes a 0.1 − 0.35, b 0.6 − 0.4, c 0.4 − 0.3; oracle a 0.5 − 0.15, b and c as voted.
    expect(ev.rows[0]?.feature).toBe("likeProbability");
    expect(ev.rows[0]?.votes.mean).toBeCloseTo((-0.25 + 0.2 + 0.1) / 3, 12);
    expect(ev.rows[0]?.oracle.mean).toBeCloseTo((0.35 + 0.2 + 0.1) / 3, 12);
    // A feature that is the same everywhere differs by exactly 0 with no spread: z is not a number, reported as none.
    const flat = ev.rows.find((r) => r.feature === "contrast");
    expect(flat?.votes.mean).toBe(0);
    expect(Number.isNaN(flat?.votes.z)).toBe(true);
    const rater = parseRaterSpec({
      name: "t",
      population: [
        {
          name: "p",
          share: 1,
          kind: "logistic",
          weights: { sharpness: 10, fidelity: 10 },
          bias: -10,
          noise: 1,
        },
      ],
    });
    const p = (s: number, f: number) => 1 / (1 + Math.exp(-(10 * s + 10 * f - 10)));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const rows = featureHeadroom(set, rater);
    expect(quantile(sharpness, 0.9)).toBe(0.8); // nearest rank round(0.9 · 8) = 7
    expect(rows.map((r) => r.change)).toEqual([
      "as drawn",
      "sharpness ≥ 0.800 (90th pct)",
      "contrast ≥ 0.500 (90th pct)",
      "artefacts ≤ 0.500 (10th pct)",
      "all three quality features",
      "fidelity at its caption's best",
      "both",
    ]);
    const best = [0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.6, 0.6];
    expect(rows[0]?.likeProbability).toBeCloseTo(mean(fidelity.map((f, i) => p(sharpness[i] ?? 0, f))), 12);
    expect(rows[1]?.likeProbability).toBeCloseTo(
      mean(fidelity.map((f, i) => p(Math.max(sharpness[i] ?? 0, 0.8), f))),
      12,
    );
    expect(rows[2]?.likeProbability).toBeCloseTo(rows[0]?.likeProbability ?? 0, 12); // the rater ignores contrast
    expect(rows[5]?.likeProbability).toBeCloseTo(mean(best.map((f, i) => p(sharpness[i] ?? 0, f))), 12);
    expect(rows[6]?.likeProbability).toBeCloseTo(
      mean(best.map((f, i) => p(Math.max(sharpness[i] ?? 0, 0.8), f))),
      12,
    );
    const text = evidenceSection(ev, rows, 9) ?? "";
    expect(text).toContain("over the 3 of 4 captions that have both");
    expect(text).toMatch(
      /\| prompt fidelity \| \+0\.2000 ± 0\.2484 \| 3\.5 \| \+0\.1000 ± 0\.4969 \| 0\.9 \| 0\.126 \|/,
    );
    expect(text).toMatch(/no detectable within-caption evidence \(\|z\| < 2\) on: .*contrast/);
    expect(text).not.toMatch(/evidence \(\|z\| < 2\) on: .*prompt fidelity/);
    expect(evidenceSection(undefined, rows, 9)).toBeNull();
    // Without a headroom table the blind features are still named, under the evidence table.
    const bare = evidenceSection(ev, undefined, 9) ?? "";
    expect(bare).not.toContain("Headroom");
    expect(bare).toMatch(
      /\|\n\nThe labels carry no detectable within-caption evidence \(\|z\| < 2\) on: .*contrast.*\.$/,
    );
    // Without the judge's features (world renders) there is nothing to measure: a clear error, not zeros.
    expect(() => voteEvidence({ ...set, features: undefined })).toThrow(/no judge features per image/);
  });

  it("rewrites only its own BENCHMARKS.md section and keeps the hand-written notes", () => {
    const text =
      "# B\n\n<!-- bench:x:start -->\nold\n<!-- alignment:notes:start -->\nkeep me\n<!-- alignment:notes:end -->\n<!-- bench:x:end -->\n";
    const withOld = `${text}\n<!-- bench:alignment:start -->\nold table\n<!-- alignment:notes:start -->\nfindings\n<!-- alignment:notes:end -->\n<!-- bench:alignment:end -->\ntail\n`;
    const out = replaceSection(withOld, "alignment", "new table");
    expect(out).toContain("new table");
    expect(out).not.toContain("old table");
    expect(out).toContain("findings");
    expect(out.startsWith(text)).toBe(true);
    expect(out.endsWith("<!-- bench:alignment:end -->\ntail\n")).toBe(true);
    expect(replaceSection("# B\n", "alignment", "t")).toContain("<!-- bench:alignment:start -->\nt\n");
  });
});

describe("pnpm bench alignment (tiny)", () => {
  it("labels, fine-tunes every method, evaluates, runs three rounds and writes the report", async () => {
    const benchmarks = join(dir, "BENCHMARKS.md");
    writeFileSync(
      benchmarks,
      "# Benchmarks\n\n<!-- bench:other:start -->\nother\n<!-- bench:other:end -->\n",
    );
    const out = join(dir, "results");
    const { run, report, files } = await runAlignmentBench(
      // prettier-ignore
      ["--raters", raters, "--labels", "48", "--seeds", "2", "--train-prompts", "8", "--eval-prompts", "4", "--eval-images", "3",
       "--sampling-steps", "10", "--steps", "3", "--batch", "4", "--rounds", "3", "--round-steps", "2", "--model", model,
       "--out", out, "--benchmarks", benchmarks],
      () => {},
    );
    // Labels: 8 prompts × 6 images of the base model, one vote each, drawn with the served sampler's η (ancestral).
    expect(run.labelSet.count).toBe(48);
    expect(run.options).toMatchObject({ samplingSteps: 10, eta: POOL_SAMPLING.eta });
    expect(run.labelSet.liked).toBeGreaterThan(0);
    expect(run.labelSet.liked).toBeLessThan(48);
    // The selection ceiling over those images (6 per prompt, more for a caption drawn twice): n = 1, 2, 4, its n = 1 row the labels' mean P(like), and
    // choosing among more images never lowers it.
    const sel = run.labelSet.selection;
    expect(sel.map((r) => r.n)).toEqual([1, 2, 4]);
    expect(sel[0]?.likeProbability).toBeCloseTo(run.labelSet.meanLikeProbability, 9);
    for (let i = 1; i < sel.length; i++)
      expect(sel[i]?.likeProbability).toBeGreaterThanOrEqual(sel[i - 1]?.likeProbability as number);
    // Every method trained with the same budget, once per training seed, each seed evaluated on its own held-out cells.
    expect(run.runs.map((r) => `${r.method}#${r.seed}`)).toEqual([
      ...METHODS.map((m) => `${m}#1`),
      ...METHODS.map((m) => `${m}#2`),
    ]);
    expect(run.base.eval.cells.map((c) => c.k)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    for (const r of run.runs) {
      expect(r.error).toBeNull();
      expect(r.training).toMatchObject({ steps: 3, batchSize: 4, labels: 48 });
      expect(r.eval?.cells.map((c) => c.k)).toEqual([r.seed - 1, r.seed - 1, r.seed - 1, r.seed - 1]);
      expect(Number.isFinite(r.training?.finalLoss)).toBe(true);
    }
    const byMethod = Object.fromEntries(run.runs.filter((r) => r.seed === 1).map((r) => [r.method, r]));
    expect(byMethod.sft?.training?.examples).toBe(run.labelSet.liked); // SFT sees the liked images only
    expect(byMethod.dpo?.training?.examples).toBeGreaterThan(0); // pairs from the same labels
    // Fine-tuning changed the model: KTO's images differ from the base's for the same prompts and noise.
    const basePixels = run.base.eval.cells
      .filter((c) => c.k === 0)
      .flatMap((c) => c.images.map((i) => Array.from(i.data)));
    const ktoPixels = (byMethod.kto?.eval?.cells ?? []).flatMap((c) =>
      c.images.map((i) => Array.from(i.data)),
    );
    expect(ktoPixels).toHaveLength(basePixels.length);
    expect(ktoPixels).not.toEqual(basePixels);
    // Model soups (default kto, sft, dpo with two or more seeds): the mean of the seeds' weights, evaluated on every
    // seed's cells, and the same soup sampled with reward guidance w = 2 against the base.
    const soupKeys = ["kto", "sft", "dpo"].flatMap((m) => [`${m}-soup`, `${m}-soup@w2`]);
    expect(run.soups.map((x) => [x.key, x.members, x.guidance, x.error])).toEqual(
      soupKeys.map((k) => [k, [1, 2], k.endsWith("@w2") ? 2 : 1, null]),
    );
    const soupOf = (k: string) => run.soups.find((x) => x.key === k)?.eval;
    for (const k of soupKeys) {
      expect(soupOf(k)?.cells.map((c) => c.k)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
      expect(soupOf(k)?.id).toBe(k);
    }
    const pixelsOf = (cells: typeof run.base.eval.cells) =>
      cells.flatMap((c) => c.images.map((i) => Array.from(i.data)));
    // Reward guidance changes what the soup draws (same prompts and noise).
    expect(pixelsOf(soupOf("kto-soup@w2")?.cells ?? [])).not.toEqual(
      pixelsOf(soupOf("kto-soup")?.cells ?? []),
    );
    // Its Δ P(like) against the base, paired on cells, recomputed from the cells.
    const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const soupDelta = (soupOf("kto-soup")?.cells ?? []).reduce((a, c, _i, all) => {
      const b = run.base.eval.cells.find((x) => x.k === c.k && x.prompt === c.prompt);
      return a + (meanOf(c.likeProbability) - meanOf(b?.likeProbability ?? [])) / all.length;
    }, 0);
    expect(report.soups.find((x) => x.key === "kto-soup")?.vsBase.mean).toBeCloseTo(soupDelta, 12);
    expect(
      report.soups.every((x) => Number.isFinite(x.vsSeeds.mean) && Number.isFinite(x.vsSeeds.half)),
    ).toBe(true);
    // Report: rows for the base, every method and every soup, win rates complementary, intervals finite.
    expect(report.models.map((m) => m.key)).toEqual(["base", ...METHODS, ...soupKeys]);
    expect(report.models.find((m) => m.key === "dpo-soup@w2")?.label).toBe(
      "Diffusion-DPO, soup of 2 seeds, reward guidance w = 2",
    );
    for (const a of report.models) {
      expect(a.likeRate.mean).toBeGreaterThanOrEqual(0);
      expect(a.likeRate.mean).toBeLessThanOrEqual(1);
      for (const b of report.models) {
        if (a.key === b.key) continue;
        const ab = report.winsJudge[a.key]?.[b.key]?.mean ?? Number.NaN;
        const ba = report.winsJudge[b.key]?.[a.key]?.mean ?? Number.NaN;
        expect(ab + ba).toBeCloseTo(1, 12);
      }
    }
    const base = cellMetrics(run.base.eval);
    expect(base.diversity.every((d) => d > 0 && d < 1)).toBe(true);
    // Three rounds, each on fresh labels from the previous round's model.
    expect(run.rounds.map((r) => [r.round, r.parent, r.labelSource, r.labels])).toEqual([
      [1, run.base.id, run.base.id, 16],
      [2, "round-1", "round-1", 16],
      [3, "round-2", "round-2", 16],
    ]);
    expect(report.rounds).toHaveLength(4);
    // Each training seed's Δ P(like) vs the base, on that seed's cells, and the mean over the seeds.
    const kto2 = run.runs.filter((r) => r.method === "kto").map((r) => r.eval?.cells ?? []);
    const baseCells = run.base.eval.cells;
    const seedDelta = (cells: typeof baseCells) =>
      cells.reduce((a, c) => {
        const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
        const b = baseCells.find((x) => x.k === c.k && x.prompt === c.prompt);
        return a + (mean(c.likeProbability) - mean(b?.likeProbability ?? [])) / cells.length;
      }, 0);
    expect(report.perSeed.kto?.seeds.map((x) => x.seed)).toEqual([1, 2]);
    report.perSeed.kto?.seeds.forEach((x, i) =>
      expect(x.delta.mean).toBeCloseTo(seedDelta(kto2[i] ?? []), 12),
    );
    expect(report.perSeed.kto?.overSeeds.mean).toBeCloseTo(
      ((report.perSeed.kto?.seeds[0]?.delta.mean ?? 0) + (report.perSeed.kto?.seeds[1]?.delta.mean ?? 0)) / 2,
      12,
    );
    expect(report.targets.map((t) => t.name)).toContain("rounds: like rate rises every round");
    // Files: JSON, markdown, three SVG charts, the contact sheet, and only the alignment section added.
    const json = JSON.parse(readFileSync(files.json, "utf8")) as {
      report: { models: unknown[] };
      cells: Record<string, unknown>;
    };
    expect(json.report.models).toHaveLength(6 + soupKeys.length);
    expect(Object.keys(json.cells)).toEqual([
      "base",
      ...METHODS.map((m) => `${m}#1`),
      ...METHODS.map((m) => `${m}#2`),
      ...soupKeys,
      "round-1",
      "round-2",
      "round-3",
    ]);
    expect(files.plots).toHaveLength(3);
    for (const p of ["alignment-metrics.svg", "alignment-wins.svg", "alignment-rounds.svg"])
      expect(readFileSync(join(out, p), "utf8")).toMatch(/^<svg [^]*<\/svg>\n$/);
    expect(existsSync(join(out, "alignment-contact-sheet.png"))).toBe(true);
    const md = readFileSync(benchmarks, "utf8");
    expect(md).toContain("<!-- bench:other:start -->\nother\n<!-- bench:other:end -->");
    expect(md).toContain("(10 ancestral steps, guidance 3)");
    // What the labels can teach, measured on the labelled images' judge features.
    expect(run.labelSet.evidence.captions).toBe(run.labelSet.prompts);
    expect(run.labelSet.headroom[0]?.likeProbability).toBeCloseTo(run.labelSet.meanLikeProbability, 12);
    expect(md).toMatch(/Δ P\(like\) vs base per training seed [^\n]*kto [-+][0-9.]+ \/ [-+][0-9.]+ \(/);
    expect(md).toMatch(
      /Model soups [^\n]*kto-soup@w2 [-+][0-9.]+ ± [0-9.]+ vs base, [-+][0-9.]+ ± [0-9.]+ vs its seeds/,
    );
    // A soup that could not be made is named with its reason, not dropped silently.
    const lost = {
      ...run,
      soups: [
        ...run.soups,
        {
          key: "loss-averse-soup",
          method: "loss-averse" as const,
          members: [1],
          guidance: 1,
          eval: null,
          error: "1 of 2 seeds trained; a soup needs 2",
        },
      ],
    };
    expect(reportMarkdown(lost, buildReport(lost), { json: "x.json", plots: [], sheet: null })).toContain(
      "Soups not evaluated: loss-averse-soup: 1 of 2 seeds trained; a soup needs 2.",
    );
    expect(md).not.toContain("Soups not evaluated");
    expect(md).toMatch(/What the labels can teach [^]*\| feature \| liked − disliked \(these labels\) \|/);
    expect(md).toMatch(
      /<!-- bench:alignment:start -->\n## Alignment benchmark[^]*\| target \| met \| measured \|[^]*<!-- bench:alignment:end -->\n$/,
    );
  });

  it("refuses bad options with the reason (UsageError in process, exit code 2 from the CLI)", async () => {
    for (const [argv, message] of [
      [["--labels", "many"], /--labels must be an integer/],
      [["--raters", "nobody"], /neither a preset \(default, fidelity/],
      [["--methods", "kto,ppo"], /unknown method "ppo"/],
      [["--batch", "5"], /--batch must be even/],
      [["--model", dir], /not a model version folder/],
      [["--frobnicate"], /Unknown option '--frobnicate'/],
      [["--beta", "0"], /--beta must be a number in \(0, 1000000000\]/],
      [["--prompt-dropout", "1"], /--prompt-dropout must be a share in \[0, 1\)/],
      [["--prompt-dropout", "none"], /--prompt-dropout must be a share in \[0, 1\)/],
      [["--prompt-dropout", " "], /--prompt-dropout must be a share in \[0, 1\)/],
      [["--warmup", ""], /--warmup must be an integer in \[0, 100000\]/],
      [["--training-guidance", "0.5"], /--training-guidance must be a number in \[1, 30\]/],
      [["--training-guidance", "x"], /--training-guidance must be a number in \[1, 30\]/],
      [["--eta", "1.5"], /--eta must be a number in \[0, 1\]/],
      [["--eta=-0.1"], /--eta must be a number in \[0, 1\]/],
      [["--eta", ""], /--eta must be a number in \[0, 1\]/],
      [["--soups", "ppo"], /--soups: unknown method "ppo"/],
      [["--methods", "kto,sft", "--soups", "dpo"], /--soups: "dpo" is not among --methods \(kto, sft\)/],
      [["--soups", "kto,kto"], /--soups "kto,kto" lists a method twice/],
      [["--seeds", "1", "--soups", "kto"], /it needs --seeds ≥ 2 \(got 1\)/],
      [["--soup-guidance", "1"], /--soup-guidance: "1" must be a weight in \(0, 20\] other than 1/],
      [["--soup-guidance", "2,x"], /--soup-guidance: "x" must be a weight/],
      [["--soup-guidance", "2,2"], /--soup-guidance "2,2" lists a weight twice/],
    ] as const) {
      await expect(runAlignmentBench([...argv], () => {})).rejects.toThrow(UsageError);
      await expect(runAlignmentBench([...argv], () => {})).rejects.toThrow(message);
    }
    // --beta reaches the KTO and DPO round configs (default: the round's 5000).
    const withBeta = await parseOptions(["--beta", "250"]);
    expect(methodConfig("kto", withBeta.budget, 1).beta).toBe(250);
    expect(methodConfig("dpo", withBeta.roundBudget, 1).beta).toBe(250);
    expect(methodConfig("kto", (await parseOptions([])).budget, 1).beta).toBe(5000);
    // Three training seeds by default: one run's interval over cells leaves out the run-to-run spread.
    expect((await parseOptions([])).seeds).toBe(3);
    // Soups of KTO, SFT and DPO, each also at reward guidance 2, by default; none with one seed or when asked.
    expect(await parseOptions([])).toMatchObject({ soups: ["kto", "sft", "dpo"], soupGuidance: [2] });
    expect((await parseOptions(["--methods", "kto,dpo,risk-seeking"])).soups).toEqual(["kto", "dpo"]);
    expect((await parseOptions(["--seeds", "1"])).soups).toEqual([]);
    expect(await parseOptions(["--soups", "none", "--soup-guidance", "none"])).toMatchObject({
      soups: [],
      soupGuidance: [],
    });
    expect(
      (await parseOptions(["--soups", "risk-seeking", "--soup-guidance", "0.5,3"])).soupGuidance,
    ).toEqual([0.5, 3]);
    // --prompt-dropout reaches every method's and the rounds' configs (default: the round's 0.2); 0 is allowed.
    const noDropout = await parseOptions(["--prompt-dropout", "0"]);
    expect(methodConfig("sft", noDropout.budget, 1).promptDropout).toBe(0);
    expect(methodConfig("kto", noDropout.roundBudget, 1).promptDropout).toBe(0);
    expect(methodConfig("dpo", (await parseOptions([])).budget, 1).promptDropout).toBe(0.2);
    // --training-guidance reaches every method's and the rounds' configs (default: the round's 1, plain prediction).
    const guided = await parseOptions(["--training-guidance", "3"]);
    expect(methodConfig("kto", guided.budget, 1).trainingGuidance).toBe(3);
    expect(methodConfig("sft", guided.roundBudget, 1).trainingGuidance).toBe(3);
    expect(methodConfig("dpo", (await parseOptions([])).budget, 1).trainingGuidance).toBe(1);
    // alignment-fit's fine-tune specs: a method and key=number overrides of the benchmark's budget.
    expect(parseSpec("sft:lr=1e-5:dropout=0:steps=600")).toMatchObject({
      method: "sft",
      budget: { learningRate: 1e-5, promptDropout: 0, steps: 600, warmupSteps: 20, batchSize: 16 },
    });
    expect(parseSpec("kto:guidance=3").budget).toMatchObject({ trainingGuidance: 3, learningRate: 5e-5 });
    expect(() => parseSpec("ppo")).toThrow(/unknown method "ppo"/);
    expect(() => parseSpec("sft:lr=")).toThrow(/must be key=number/);
    expect(() => parseSpec("sft:lr=2")).toThrow(/expected lr in \(0, 1\]/);
    expect(() => parseSpec("sft:momentum=0.9")).toThrow(UsageError);
    expect(parseSpec("sft:all=1").data).toBe("all");
    expect(parseSpec("sft:world=1:batch=64")).toMatchObject({ data: "world", budget: { batchSize: 64 } });
    expect(parseSpec("sft").data).toBe("labels");
    expect(() => parseSpec("kto:all=1")).toThrow(/\(sft only\) all=0\|1/);
    expect(() => parseSpec("sft:all=1:world=1")).toThrow(/both all=1 and world=1/);
    expect(() => parseSpec("sft:batch=0")).toThrow(/batch in \[1, 256\]/);
    expect(parseSpec("kto:cosine=1:ema=0.99").budget).toMatchObject({ cosine: true, emaDecay: 0.99 });
    expect(() => parseSpec("kto:ema=1")).toThrow(/ema in \(0, 1\)/);
    expect(parseSpec("dpo").seed).toBe(1);
    expect(parseSpec("dpo:seed=3:lr=1e-5")).toMatchObject({ seed: 3, budget: { learningRate: 1e-5 } });
    expect(() => parseSpec("dpo:seed=1.5")).toThrow(/seed a non-negative integer/);
    expect(parseSpec("dpo").soup).toBe(1);
    expect(parseSpec("dpo:soup=3:seed=4")).toMatchObject({ soup: 3, seed: 4 });
    expect(() => parseSpec("dpo:soup=0")).toThrow(/soup an integer in \[1, 16\]/);
    expect(methodConfig("kto", parseSpec("kto:gamma=0.5").budget, 1).positiveRatio).toBe(0.5);
    expect(() => parseSpec("sft:gamma=0.5")).toThrow(/\(KTO variants\) gamma/);
    expect(methodConfig("kto", parseSpec("kto:paired=1").budget, 1).pairedSampling).toBe(true);
    expect(() => parseSpec("kto:paired=1:gamma=0.5")).toThrow(/paired=1 balances the classes/);
    // --trainable limits every fine-tune (methods and rounds) to a parameter subset; default and "all": the whole UNet.
    const attn = await parseOptions(["--trainable", "attn"]);
    expect([attn.budget.trainable, attn.roundBudget.trainable]).toEqual(["attn", "attn"]);
    expect((await parseOptions([])).budget.trainable).toBeUndefined();
    expect((await parseOptions(["--trainable", "all"])).roundBudget.trainable).toBeUndefined();
    await expect(parseOptions(["--trainable", "lora"])).rejects.toThrow(
      /--trainable must be all or one of attn/,
    );
    // train=<subset> limits the fine-tune to a named parameter subset (Trainer trainableParameters patterns).
    expect(parseSpec("dpo:train=attn:lr=1e-4").budget).toMatchObject({
      trainable: "attn",
      learningRate: 1e-4,
    });
    expect(TRAINABLE_SUBSETS.bitfit).toContain("unet.*.b");
    expect(() => parseSpec("kto:train=lora")).toThrow(/train must be one of attn, bitfit, up/);
    expect(() => parseSpec("kto:train")).toThrow(/train must be one of/);
    expect(methodConfig("dpo", parseSpec("dpo:train=up").budget, 1)).toMatchObject({
      objective: "dpo",
      trainable: "up",
    });
    expect(methodConfig("dpo", parseSpec("dpo").budget, 1).trainable).toBe("all");
    // … and reaches the trainer as the subset's patterns (the option fineTune spreads into Trainer.create).
    expect(trainableOption(methodConfig("kto", parseSpec("kto:train=attn").budget, 1))).toEqual({
      trainableParameters: TRAINABLE_SUBSETS.attn,
    });
    expect(trainableOption(methodConfig("kto", (await parseOptions([])).budget, 1))).toEqual({});
    // The bench-only knobs are not round options: the round config still parses.
    expect(methodConfig("kto", parseSpec("kto:cosine=1:ema=0.99").budget, 1).learningRate).toBe(5e-5);
    // world=1 trains on fresh draws of the pretraining distribution: deterministic, all "liked", at the model's size.
    const world = worldSet(3, 6_000_000, 16);
    expect(world.images.map((i) => [i.width, i.height])).toEqual([
      [16, 16],
      [16, 16],
      [16, 16],
    ]);
    expect([...world.labels]).toEqual([1, 1, 1]);
    expect(worldSet(3, 6_000_000, 16).images[2]?.data).toEqual(world.images[2]?.data);
    expect(world.prompts).toEqual(worldSet(3, 6_000_000, 16).prompts);
    // --oracle-labels is a switch, off by default.
    expect((await parseOptions(["--oracle-labels"])).oracleLabels).toBe(true);
    expect((await parseOptions([])).oracleLabels).toBe(false);
    // Labels and evaluations default to the served sampler (what users' votes are cast on); --eta 0 is DDIM.
    const defaults = await parseOptions([]);
    expect([defaults.samplingSteps, defaults.eta, defaults.guidanceScale]).toEqual([
      POOL_SAMPLING.steps,
      POOL_SAMPLING.eta,
      POOL_SAMPLING.guidanceScale,
    ]);
    expect((await parseOptions(["--eta", "0", "--sampling-steps", "20"])).eta).toBe(0);
    expect(samplerName({ samplingSteps: 20, eta: 0 })).toBe("DDIM 20");
    expect(samplerName({ samplingSteps: 50, eta: 0.5 })).toBe("50 steps, η 0.5");
    const cli = benchCli("alignment", "--seeds", "0");
    expect(cli.status).toBe(2);
    expect(cli.stderr).toContain("--seeds must be an integer in [1, 20]");
    expect(cli.stderr).toContain("Usage: pnpm bench alignment");
  });
});

describe("pnpm bench alignment-fit (tiny)", () => {
  it("fine-tunes each spec on the labels and scores it against the base on the training captions, paired", async () => {
    const out = join(dir, "fit");
    // prettier-ignore
    const r = await alignmentFit(["--raters", raters, "--labels", "16", "--train-prompts", "8", "--images-per-caption", "1",
      "--sampling-steps", "10", "--model", model, "--out", out, "--reward-guidance", "0,3",
      "--specs", "sft:lr=1e-9:steps=2:batch=4,sft:world=1:steps=3:batch=4,kto:steps=3:batch=4:cosine=1:ema=0.9,sft:steps=2:batch=4:soup=2"]);
    expect(r).toMatchObject({ oracleLabels: false, labels: 16, trainPrompts: 8, imagesPerCaption: 1 });
    expect(r?.raters.source).toBe(raters);
    expect(r?.rows.map((x) => x.spec)).toEqual(
      [
        "sft:lr=1e-9:steps=2:batch=4",
        "sft:world=1:steps=3:batch=4",
        "kto:steps=3:batch=4:cosine=1:ema=0.9",
        "sft:steps=2:batch=4:soup=2",
      ].flatMap((spec) => [spec, `${spec}@w0`, `${spec}@w3`]),
    );
    // Reward guidance at w = 0 samples the base itself (ε_ref + 0·(ε_θ − ε_ref) = ε_ref bit for bit): the same images,
    // so exactly the base's P(like) on every prompt, whatever the fine-tune learnt. At w = 3 the KTO fine-tune (which
    // moved) is sampled differently from both the base and itself as trained.
    for (const row of r?.rows.filter((x) => x.spec.endsWith("@w0")) ?? [])
      expect(row.delta).toMatchObject({ mean: 0, half: 0 });
    const kto = (suffix: string) =>
      r?.rows.find((x) => x.spec === `kto:steps=3:batch=4:cosine=1:ema=0.9${suffix}`);
    expect(kto("@w3")?.likeProbability.mean).not.toBe(kto("")?.likeProbability.mean);
    expect(kto("@w3")?.delta.mean).not.toBe(0);
    for (const row of r?.rows ?? []) {
      expect(row.likeProbability.mean).toBeGreaterThan(0);
      expect(row.likeProbability.mean).toBeLessThan(1);
    }
    // A fine-tune that cannot move (lr 1e-9) draws the base's images for the same captions and sampler seeds: the paired
    // difference is ~0 for every prompt. Were the pairing broken (other seeds or captions), 8 prompts of one image
    // each would differ by several points.
    const control = r?.rows[0]?.delta;
    expect(Math.abs(control?.mean ?? 1)).toBeLessThan(0.002);
    expect(control?.half ?? 1).toBeLessThan(0.005);
    const saved = JSON.parse(readFileSync(join(out, "alignment-fit.json"), "utf8")) as { rows: unknown[] };
    expect(saved.rows).toEqual(JSON.parse(JSON.stringify(r?.rows)));
    // Bad options: the reason, the usage and exit code 2 from the CLI.
    const cli = benchCli("alignment-fit", "--train-prompts", "1");
    expect(cli.status).toBe(2);
    expect(cli.stderr).toContain("--train-prompts must be an integer in [2, 10000]");
    expect(cli.stderr).toContain("pnpm bench alignment-fit");
    const badWeight = benchCli("alignment-fit", "--reward-guidance", "2,-1");
    expect(badWeight.status).toBe(2);
    expect(badWeight.stderr).toContain('--reward-guidance: "-1" must be a weight in [0, 20]');
  });
});
