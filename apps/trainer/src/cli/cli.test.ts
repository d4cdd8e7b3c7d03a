// The trainer CLI end to end, as a user runs it: bad input is refused with a clear message and a usage exit
// code; a (tiny) pretrain writes a parity-checked model version that `eval` loads, samples and judges.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { afterAll, describe, expect, test } from "vitest";

import { decodePng } from "@likewise/serving";

import { POOL_SAMPLING } from "../sampling.ts";

const ROOT = resolve(import.meta.dirname, "..", "..", "..", "..");
const home = mkdtempSync(join(tmpdir(), "likewise-cli-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

function likewise(...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", "apps/trainer/src/cli.ts", ...args], {
    cwd: ROOT,
    env: { ...process.env, LIKEWISE_HOME: home },
    encoding: "utf8",
    timeout: 300_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("likewise CLI", () => {
  test("unknown commands and options exit 2 with a message, not a stack trace", () => {
    /** `likewise <command> <args>` exits 2 and says `message`. */
    const refused = (command: string, args: readonly string[], message: string) => {
      const r = likewise(command, ...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(message);
      return r;
    };
    const a = likewise("frobnicate");
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('Unknown command "frobnicate"');
    const b = likewise("pretrain", "--size", "20");
    expect(b.code).toBe(2);
    expect(b.stderr).toContain("--size must be one of 16, 24, 32");
    const c = likewise("eval");
    expect(c.code).toBe(2);
    expect(c.stderr).toContain("--model <dir> is required");
    const d = likewise("eval", "--model", join(home, "missing"));
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/cannot load .*missing/);
    const badConfig = join(home, "bad-round.json");
    writeFileSync(badConfig, JSON.stringify({ objective: "ppo", steps: 0, typo: 1 }));
    const e = likewise("round", "run", "--config", badConfig);
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(/invalid round config: .*objective.*steps.*typo/s);
    const f = likewise("simulate", "--raters", "nobody-knows-this-preset");
    expect(f.code).toBe(2);
    expect(f.stderr).toContain("--raters nobody-knows-this-preset");
    const g = likewise("simulate", "--url", "localhost:3000");
    expect(g.code).toBe(2);
    expect(g.stderr).toContain("expected an http(s) origin");
    // eval reads --raters with simulate's reader: a binary file is named as such, before any model is loaded.
    const binarySpec = join(home, "binary-spec.json");
    writeFileSync(binarySpec, Buffer.from([0x7b, 0x00, 0x7d]));
    const h = likewise("eval", "--model", "models/base", "--raters", binarySpec);
    expect(h.code).toBe(2);
    expect(h.stderr).toContain(`--raters ${binarySpec}: binary (it contains NUL bytes)`);
    // pretrain's architecture-ablation options
    const ablation = (
      [
        [["--channels", "16,33"], '--channels "16,33" must be 1–5 comma-separated multiples of 8'],
        [["--attention-levels", "0,3"], '--attention-levels "0,3" must be distinct level indices in 0…2'],
        [
          ["--channels", "16,32", "--attention-levels", "1,1"],
          '--attention-levels "1,1" must be distinct level indices in 0…1',
        ],
        [["--world", "clean"], "--world must be one of default, controlled"],
        [["--text-layout", "yes"], "--text-layout must be one of on, off"],
        [["--colours", "red,crimson"], '--colours: "crimson" is not one of'],
        [["--shapes", "star,star"], '--shapes "star,star" lists a value twice'],
        [["--sizes", "large"], "the narrower world cannot be drawn: --sizes must include small or medium"],
        [
          ["--world", "controlled", "--colours", "red", "--backgrounds", "red,blue"],
          "0 object colours on a red background",
        ],
        [["--curriculum", "gentle"], "--curriculum must be one of off, placement"],
        [
          ["--curriculum", "placement", "--shapes", "star"],
          "--curriculum sets the world of its stages; --shapes would narrow only the last one",
        ],
        [["--curriculum", "placement", "--init", "models/base"], "--curriculum trains from scratch"],
        [["--stage-steps", "10"], "--stage-steps applies to --curriculum stages only"],
      ] as const
    ).map(([args, message]) => refused("pretrain", args, message));
    const probe = refused(
      "eval",
      ["--model", "models/base", "--shape-probe", "crimson"],
      "--shape-probe must be one of red, orange",
    );
    const eta = refused(
      "eval",
      ["--model", "models/base", "--eta", "1.5"],
      '--eta must be a number in 0..1 (got "1.5")',
    );
    const toy = (
      [
        [
          ["--methods", "kto,ppo"],
          '--methods takes a comma-separated list of kto, loss-averse, risk-seeking, sft, dpo (got "kto,ppo")',
        ],
        [["--methods", "kto,sft,kto"], '--methods "kto,sft,kto" lists a method twice'],
        [
          ["--reference-point", "mismatched"],
          '--reference-point must be one of batch, class-balanced, zero (got "mismatched")',
        ],
      ] as const
    ).map(([args, message]) => refused("toy", args, message));
    const columns = refused(
      "eval",
      ["--model", "models/base", "--columns", "0"],
      '--columns must be an integer in 1..100 (got "0")',
    );
    for (const r of [a, b, c, d, e, f, g, h, probe, eta, columns, ...ablation, ...toy])
      expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test("pretrain writes a model version folder that eval loads, samples and judges", () => {
    const out = join(home, "model");
    const p = likewise(
      "pretrain",
      "--steps",
      "4",
      "--examples",
      "64",
      "--batch",
      "8",
      "--workers",
      "0",
      "--prediction",
      "v",
      "--ema",
      "0.999",
      "--out",
      out,
      "--id",
      "cli-test",
      "--checkpoint-every",
      "2",
    );
    expect(p.code, p.stderr).toBe(0);
    for (const f of ["manifest.json", "model.onnx", "weights.bin", "weights.json"])
      expect(existsSync(join(out, f))).toBe(true);
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as {
      id: string;
      config: { prediction?: unknown };
      training: { steps: number; command: string; prediction: string; emaDecay: number };
      onnx: { parity: { maxAbs: number } };
    };
    expect(manifest.id).toBe("cli-test");
    expect(manifest.config.prediction).toEqual({ kind: "v", schedule: { kind: "linear", steps: 1000 } });
    expect(manifest.training).toMatchObject({ prediction: "v", emaDecay: 0.999 });
    expect(manifest.training.steps).toBe(4);
    expect(manifest.onnx.parity.maxAbs).toBeLessThan(1e-4);
    expect(existsSync(join(home, "pretrain", "cli-test", "checkpoint.bin"))).toBe(true);
    // Another command under the same --id (here a second stage from that folder) must not resume the finished
    // checkpoint and export it as its own result: it is refused, naming what differs, and writes nothing.
    const clash = likewise(
      "pretrain",
      "--steps",
      "4",
      "--examples",
      "64",
      "--batch",
      "8",
      "--workers",
      "0",
      "--prediction",
      "v",
      "--ema",
      "0.999",
      "--init",
      out,
      "--loss-weighting",
      "none",
      "--out",
      join(home, "clash"),
      "--id",
      "cli-test",
    );
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(
      /--id cli-test\) was written by another command \(it differs in initWeights, lossWeighting\)/,
    );
    expect(clash.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(home, "clash"))).toBe(false);

    const sheet = join(home, "sheet.png");
    const e = likewise(
      "eval",
      "--model",
      out,
      "--prompts",
      "3",
      "--images",
      "2",
      "--eta",
      "0.5",
      "--sheet",
      sheet,
      "--columns",
      "2",
      "--json",
    );
    expect(e.code, e.stderr).toBe(0);
    const report = JSON.parse(e.stdout) as {
      settings: { eta: number; steps: number };
      likeRate: number;
      model: { imageSize: number };
      sampling: { images: number };
      summary: { attributes: Record<string, { asked: number; chance: number }> };
    };
    expect(report.sampling.images).toBe(6);
    expect(report.settings).toMatchObject({ eta: 0.5, steps: POOL_SAMPLING.steps }); // steps: the served default
    expect(report.likeRate).toBeGreaterThanOrEqual(0);
    expect(report.likeRate).toBeLessThanOrEqual(1);
    expect(report.summary.attributes.shape?.asked).toBeGreaterThan(0);
    const png = decodePng(new Uint8Array(readFileSync(sheet)));
    // Two prompts per line (--columns 2), each cell its two images at 64 px with 4 px gaps (or the label's minimum).
    const cell = Math.max(
      4 * 2 + 20 * 6,
      4 + 2 * (Math.round(64 / report.model.imageSize) * report.model.imageSize + 4),
    );
    expect(png.width).toBe(2 * cell);

    // A second stage starts from that version's weights and records where it came from.
    const stage2 = join(home, "model-stage2");
    const common = ["--examples", "64", "--batch", "8", "--workers", "0", "--seed", "2"];
    // (The first stage is a v model with an EMA; this one continues it as an ε model, the default: same parameters,
    // plus the attention position tables, off in the first stage: initialised fresh.)
    const s = likewise(
      "pretrain",
      "--steps",
      "2",
      ...common,
      "--init",
      out,
      "--loss-weighting",
      "none",
      "--attention-positions",
      "on",
      "--out",
      stage2,
      "--id",
      "cli-stage2",
    );
    expect(s.code, s.stderr).toBe(0);
    const m2 = JSON.parse(readFileSync(join(stage2, "manifest.json"), "utf8")) as {
      training: { initFrom?: { id: string; training: { steps: number } }; lossWeighting: unknown };
    };
    expect(m2.training.initFrom).toMatchObject({
      id: "cli-test",
      training: { steps: 4 },
      newParameters: ["unet.down1.attn0.pos", "unet.mid.attn.pos", "unet.up1.attn0.pos"],
    });
    expect(m2.training.lossWeighting).toBe("none");
    expect((m2 as { config?: { prediction?: unknown } }).config?.prediction).toBeUndefined();
    // Two Adam steps move the weights a little from where the first stage left them, not back to a fresh init.
    const w1 = new Float32Array(readFileSync(join(out, "weights.bin")).buffer.slice(0));
    const w2 = new Float32Array(readFileSync(join(stage2, "weights.bin")).buffer.slice(0));
    // The shared parameters, by name (stage 2 has the position tables in between).
    const index = (dir: string) =>
      JSON.parse(readFileSync(join(dir, "weights.json"), "utf8")) as {
        tensors: { name: string; offset: number; byteLength: number }[];
      };
    const at1 = new Map(index(out).tensors.map((t) => [t.name, t]));
    const pairs: [number, number][] = [];
    for (const t of index(stage2).tensors) {
      const t1 = at1.get(t.name);
      if (t1)
        for (let j = 0; j < t.byteLength / 4; j++)
          pairs.push([w1[t1.offset / 4 + j] ?? NaN, w2[t.offset / 4 + j] ?? NaN]);
    }
    expect(pairs.length).toBe(w1.length);
    let moved = 0;
    let far = 0;
    for (const [a, b] of pairs) {
      const d = Math.abs(b - a);
      if (d > 0) moved++;
      if (d > 0.05) far++;
    }
    expect(moved / pairs.length).toBeGreaterThan(0.5);
    expect(far / pairs.length).toBeLessThan(0.01);
    // A stage whose architecture differs from the folder it starts from is refused before any training.
    const bad = likewise(
      "pretrain",
      "--steps",
      "2",
      ...common,
      "--init",
      out,
      "--position-embedding",
      "off",
      "--out",
      join(home, "bad"),
      "--id",
      "cli-bad",
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--init .*model config differs/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    // Dropping parameters the init has (its attention position tables) is refused too.
    const dropped = likewise(
      "pretrain",
      "--steps",
      "2",
      ...common,
      "--init",
      stage2,
      "--out",
      join(home, "bad2"),
      "--id",
      "cli-bad2",
    );
    expect(dropped.code).toBe(2);
    expect(dropped.stderr).toMatch(/--init .*model config differs/);
  });

  test("pretrain's architecture-ablation options reach the model config and the manifest", () => {
    const out = join(home, "model-ablation");
    const p = likewise(
      "pretrain",
      "--steps",
      "2",
      "--examples",
      "32",
      "--batch",
      "8",
      "--workers",
      "0",
      "--world",
      "controlled",
      "--channels",
      "16,32,32",
      "--attention-levels",
      "1,0",
      "--text-layout",
      "on",
      "--scale-shift",
      "on",
      "--out",
      out,
      "--id",
      "cli-ablation",
      "--shapes",
      "square",
      "--sizes",
      "large",
      "--backgrounds",
      "blue",
    );
    expect(p.code, p.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as {
      config: { channels: number[]; attentionLevels: number[]; textLayout?: boolean; scaleShift?: boolean };
      training: { world?: string; scene?: unknown; trainingMix: { flaws: unknown[] } };
      onnx: { parity: { maxAbs: number } };
    };
    expect(manifest.config).toMatchObject({
      channels: [16, 32, 32],
      attentionLevels: [0, 1],
      textLayout: true,
      scaleShift: true,
    });
    expect(manifest.training.world).toBe("controlled");
    expect(manifest.training.trainingMix.flaws).toEqual([]); // the controlled world has no flaws
    expect(manifest.training.scene).toEqual({ shapes: ["square"], sizes: ["large"], backgrounds: ["blue"] }); // a narrower world is recorded
    expect(manifest.onnx.parity.maxAbs).toBeLessThan(1e-4);
  });

  test("pretrain --curriculum trains narrow stages first, each from the last, and resumes by skipping finished ones", () => {
    const out = join(home, "model-curriculum");
    const args = [
      "pretrain",
      "--curriculum",
      "placement",
      "--stage-steps",
      "1",
      "--steps",
      "2",
      "--examples",
      "32",
      "--batch",
      "8",
      "--workers",
      "0",
      "--channels",
      "8,16",
      "--world",
      "controlled",
      "--out",
      out,
      "--id",
      "cli-curriculum",
    ];
    const p = likewise(...args);
    expect(p.code, p.stderr).toBe(0);
    for (const k of [1, 2, 3, 4]) expect(p.stderr).toContain(`stage ${k}/5 (`);
    const stage = (k: number) =>
      JSON.parse(
        readFileSync(join(home, "pretrain", "cli-curriculum", "stages", String(k), "manifest.json"), "utf8"),
      ) as {
        id: string;
        config: { channels: number[] };
        training: {
          steps: number;
          examples: number;
          scene?: unknown;
          world?: string;
          lossWeighting: unknown;
          initFrom?: { id: string };
        };
      };
    // Stage 1: only the object's colour varies; stage 4: the whole clean world; each starts from the one before.
    expect(stage(1).training).toMatchObject({
      steps: 1,
      examples: 32,
      world: "controlled",
      scene: { shapes: ["square"], sizes: ["large"], backgrounds: ["blue"], styles: ["solid"] },
    });
    expect(stage(1).training.initFrom).toBeUndefined();
    expect(stage(4).training.scene).toBeUndefined();
    for (const k of [2, 3, 4]) expect(stage(k).training.initFrom?.id).toBe(`cli-curriculum.stage${k - 1}`);
    for (const k of [1, 2, 3, 4]) {
      expect(stage(k).config.channels).toEqual([8, 16]); // the command's architecture, every stage
      expect(stage(k).training.lossWeighting).toEqual({ kind: "v", max: 1_000_000 }); // the stages' own: the true v-loss
    }
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as {
      id: string;
      training: {
        steps: number;
        command: string;
        world?: string;
        lossWeighting: unknown;
        curriculum?: { name: string; stages: string[] };
        initFrom?: { id: string; training: { initFrom?: unknown } };
      };
    };
    expect(manifest.id).toBe("cli-curriculum");
    expect(manifest.training).toMatchObject({
      steps: 2,
      world: "controlled",
      curriculum: { name: "placement" },
    });
    expect(manifest.training.lossWeighting).toEqual({ kind: "v", max: 50 }); // the command's own (default) weighting
    expect(manifest.training.curriculum?.stages).toHaveLength(4);
    expect(manifest.training.command).toContain("--curriculum placement");
    expect(manifest.training.initFrom?.id).toBe("cli-curriculum.stage4"); // the chain of stages is in the provenance
    expect(manifest.training.initFrom?.training.initFrom).toBeDefined();
    // The same command again: the stages are done and skipped.
    const again = likewise(...args);
    expect(again.code, again.stderr).toBe(0);
    for (const k of [1, 2, 3, 4])
      expect(again.stderr).toMatch(new RegExp(`stage ${k}/5 \\(.*\\): done earlier`));
    // Stages trained with other options are not reused silently.
    const other = likewise(...args.map((a, i) => (args[i - 1] === "--stage-steps" ? "2" : a)));
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(
      /stage 1 in .* was trained with other options \(pnpm likewise pretrain .*--steps 1 .*\); use them, or delete /,
    );
    expect(other.stderr).not.toMatch(/\n\s+at /);
  });

  // Each curriculum's stages narrow the world as documented; the command's own world comes last.
  test.each([
    [
      "shape",
      "shape and position first (large red objects on plain blue), then one attribute at a time",
      [
        { colours: ["red"], sizes: ["large"], backgrounds: ["blue"], styles: ["solid"] },
        { sizes: ["large"], backgrounds: ["blue"], styles: ["solid"] },
        { sizes: ["large"], styles: ["solid"] },
        { styles: ["solid"] },
        undefined,
      ],
    ],
    [
      "outline",
      "shape, size and position first (red objects on plain blue), then colours and gradients",
      [
        { colours: ["red"], backgrounds: ["blue"], styles: ["solid"] },
        { backgrounds: ["blue"], styles: ["solid"] },
        { styles: ["solid"] },
        undefined,
      ],
    ],
  ] as const)("pretrain --curriculum %s: %s", (name, _what, scenes) => {
    const p = likewise(
      "pretrain",
      "--curriculum",
      name,
      "--stage-steps",
      "1",
      "--steps",
      "1",
      "--examples",
      "16",
      "--batch",
      "8",
      "--workers",
      "0",
      "--channels",
      "8,16",
      "--world",
      "controlled",
      "--out",
      join(home, `model-${name}`),
      "--id",
      `cli-${name}`,
    );
    expect(p.code, p.stderr).toBe(0);
    const scene = (k: number) =>
      (
        JSON.parse(
          readFileSync(join(home, "pretrain", `cli-${name}`, "stages", String(k), "manifest.json"), "utf8"),
        ) as { training: { scene?: unknown } }
      ).training.scene;
    scenes.forEach((expected, k) => expect(scene(k + 1)).toEqual(expected));
    expect(p.stderr).toContain(`stage ${scenes.length + 1}/${scenes.length + 1} (the command's world)`);
  });
});
