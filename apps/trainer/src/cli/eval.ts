// `pnpm likewise eval --model <dir>`: judge metrics and a simulated-rater like rate on held-out prompts, plus a
// contact sheet PNG (prompt + images) to look at.
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";

import { encodePng, loadModel } from "@likewise/serving";
import { COLOURS, type Colour, contactSheet, RATER_PRESET_NAMES } from "@likewise/synth";

import { env } from "../env.ts";
import { evaluateModel } from "../evaluate.ts";
import { POOL_SAMPLING } from "../sampling.ts";
import {
  measureAttributeUse,
  measurePromptUse,
  OBJECT_ATTRIBUTES,
  probeHighNoise,
  PROMPT_USE_TIMESTEPS,
} from "../prompt-use.ts";
import { probeShapes } from "../shape-probe.ts";
import { choiceOption, intOption, numberOption, parseOptions } from "./args.ts";
import { CliError } from "./errors.ts";
import { ProgressBar } from "./progress.ts";
import { readRaterSpec } from "./simulate.ts";

const HELP = `Usage: pnpm likewise eval --model <dir> [options]

  --model <dir>         model version folder (manifest.json + model.onnx)
  --prompts <n>         held-out prompts from the fixed evaluation set (default 50)
  --images <n>          images per prompt (default 4)
  --seed <n>            first sampling seed (default 1000)
  --steps <n>           DDIM steps (default ${POOL_SAMPLING.steps}, as served)
  --guidance <x>        classifier-free guidance scale (default ${POOL_SAMPLING.guidanceScale})
  --eta <x>             DDIM stochasticity in [0, 1]: 0 deterministic, 1 ancestral (DDPM-like: fresh noise each step,
                        which washes out the grain and stray pixels a deterministic path keeps; default ${POOL_SAMPLING.eta}, as served)
  --raters <preset|file> rater preset (${RATER_PRESET_NAMES.join(", ")}) or a JSON spec file (default: default)
  --sheet <path>        contact sheet PNG (default $LIKEWISE_HOME/eval/<model id>.png): each prompt over its images,
                        each image over a bar and the percentage of its P(like) under the rater preset
  --columns <n>         prompts per line of the contact sheet (default 5)
  --prompt-use          also measure how much the denoiser uses the prompt: ε-MSE with another image's caption
                        and with the empty prompt ÷ with the right caption, at t = ${PROMPT_USE_TIMESTEPS.join(", ")}; and per
                        object attribute (shape, colour, size, position) with only that word changed
  --x0-probe <path>     also write a PNG of x̂₀ predicted from pure noise at t = 999, 900, 800, 700 (≈ E[x₀ | caption],
                        8 noises) for six prompts that differ in the object's place: does the caption place the object?
  --shape-probe <colour>  also judge one <colour> object at the centre for every shape × size × plain background (but
                        <colour>), 4 seeds each: shape accuracy per background and per size, and how often the
                        background came out as asked (where the held-out set cannot say where a shape is lost)
  --json                print the report as JSON`;

export async function run(argv: string[]): Promise<void> {
  const o = parseOptions(argv, {
    model: { type: "string" },
    prompts: { type: "string" },
    images: { type: "string" },
    seed: { type: "string" },
    steps: { type: "string" },
    guidance: { type: "string" },
    eta: { type: "string" },
    raters: { type: "string" },
    sheet: { type: "string" },
    columns: { type: "string" },
    json: { type: "boolean" },
    "prompt-use": { type: "boolean" },
    "x0-probe": { type: "string" },
    "shape-probe": { type: "string" },
    help: { type: "boolean" },
  });
  if (o.help) return void console.log(HELP);
  if (!o.model) throw new CliError("--model <dir> is required (a model version folder, e.g. models/base)", 2);
  const rater = await readRaterSpec(o.raters ?? "default");
  let model;
  try {
    model = await loadModel(resolve(o.model), { intraOpNumThreads: 2 });
  } catch (e) {
    throw new CliError(`cannot load ${o.model}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const prompts = intOption(o.prompts, "prompts", 50, 1, 10_000);
  const imagesPerPrompt = intOption(o.images, "images", 4, 1, 64);
  const columns = intOption(o.columns, "columns", 5, 1, 100);
  const probeColour: Colour | undefined =
    o["shape-probe"] === undefined
      ? undefined
      : choiceOption(o["shape-probe"], "shape-probe", COLOURS, "red");
  const bar = new ProgressBar({ label: "eval", total: prompts * imagesPerPrompt, unit: "img" });
  try {
    const { report, prompts: results } = await evaluateModel(model, {
      prompts,
      imagesPerPrompt,
      seed: intOption(o.seed, "seed", 1000, 0, 2 ** 40),
      steps: intOption(o.steps, "steps", POOL_SAMPLING.steps, 10, 100),
      guidanceScale: numberOption(o.guidance, "guidance", POOL_SAMPLING.guidanceScale, 1, 30),
      eta: numberOption(o.eta, "eta", POOL_SAMPLING.eta, 0, 1),
      rater,
      onProgress: (d) => bar.update(d),
    });
    bar.finish();
    const sheetPath = resolve(o.sheet ?? join(env.home, "eval", `${model.manifest.id}.png`));
    const sheet = contactSheet(
      results.map((r) => ({
        label: r.caption,
        images: r.images,
        imageMeters: r.likeProbabilities,
        imageNotes: r.likeProbabilities.map((p) => `${Math.round(100 * p)}%`),
      })),
      {
        imageScale: Math.max(1, Math.round(64 / model.manifest.imageSize)),
        columns,
        title:
          `${model.manifest.id}: ${prompts} held-out prompts x ${imagesPerPrompt} images, like rate ` +
          `${(100 * report.likeRate).toFixed(1)}%, fidelity ${report.summary.fidelity.toFixed(2)}. ` +
          `Under each image: P(like), rater preset ${report.settings.rater}`,
      },
    );
    await mkdir(dirname(sheetPath), { recursive: true });
    await writeFile(sheetPath, encodePng(sheet));
    const promptUse = o["prompt-use"] ? await measurePromptUse(model) : undefined;
    const attributeUse = o["prompt-use"] ? await measureAttributeUse(model) : undefined;
    const shapeProbe = probeColour ? await probeShapes(model, { colour: probeColour }) : undefined;
    let probePath: string | undefined;
    if (o["x0-probe"]) {
      probePath = resolve(o["x0-probe"]);
      const probe = await probeHighNoise(model);
      const sheet = contactSheet(
        probe.rows.map((r) => ({
          label: `${r.prompt} (t = ${probe.timesteps.join(", ")})`,
          images: r.images,
        })),
        { imageScale: Math.max(1, Math.round(64 / model.manifest.imageSize)) },
      );
      await mkdir(dirname(probePath), { recursive: true });
      await writeFile(probePath, encodePng(sheet));
    }
    if (o.json) {
      console.log(
        JSON.stringify(
          {
            ...report,
            ...(promptUse ? { promptUse } : {}),
            ...(attributeUse ? { attributeUse } : {}),
            ...(shapeProbe ? { shapeProbe } : {}),
            contactSheet: sheetPath,
            ...(probePath ? { x0Probe: probePath } : {}),
          },
          null,
          2,
        ),
      );
      return;
    }
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    console.log(
      `model ${report.model.id} (${report.model.imageSize} px), ${report.sampling.images} images, rater preset "${report.settings.rater}"`,
    );
    console.log(
      `like rate ${pct(report.likeRate)} · fidelity ${report.summary.fidelity.toFixed(3)} · judge score ${report.summary.score.toFixed(3)}`,
    );
    console.log("attribute           accuracy   chance   fidelity   asked");
    for (const [name, a] of Object.entries(report.summary.attributes)) {
      if (a.asked === 0) continue;
      console.log(
        `${name.padEnd(18)} ${pct(a.accuracy).padStart(9)} ${pct(a.chance).padStart(8)} ${a.fidelity.toFixed(3).padStart(10)} ${String(a.asked).padStart(7)}`,
      );
    }
    const q = report.summary.quality;
    console.log(
      `quality: sharpness ${q.sharpness?.toFixed(3)} contrast ${q.contrast?.toFixed(3)} artefacts ${q.artefacts?.toFixed(3)} saturation ${q.saturation?.toFixed(3)}`,
    );
    if (promptUse) {
      console.log(
        `prompt use (${promptUse.images} clean renders): ε-MSE with another caption / empty prompt ÷ with the right caption`,
      );
      for (const r of promptUse.rows)
        console.log(
          `  t=${String(r.t).padStart(3)}  ${r.rolledOverRight.toFixed(3)}  ${r.emptyOverRight.toFixed(3)}`,
        );
    }
    if (attributeUse) {
      console.log(
        `attribute use (${attributeUse.images} one-object renders): ε-MSE with one word changed ÷ with the right caption`,
      );
      console.log(`  t    ${OBJECT_ATTRIBUTES.map((a) => a.padStart(9)).join("")}`);
      for (const r of attributeUse.rows)
        console.log(
          `  ${String(r.t).padStart(3)}  ${OBJECT_ATTRIBUTES.map((a) => r.ratios[a].toFixed(3).padStart(9)).join("")}`,
        );
    }
    if (shapeProbe) {
      const c = (x: { shape: number; background: number }) =>
        `${pct(x.shape).padStart(6)} ${pct(x.background).padStart(7)}`;
      console.log(
        `shape probe (a ${shapeProbe.colour} object at the centre, ${shapeProbe.seeds} seeds per shape × size × background): shape accuracy, background as asked`,
      );
      for (const [bg, x] of Object.entries(shapeProbe.byBackground))
        console.log(`  on ${bg.padEnd(8)} ${c(x)}`);
      for (const [size, x] of Object.entries(shapeProbe.bySize)) console.log(`  ${size.padEnd(11)} ${c(x)}`);
      console.log(`  all         ${c(shapeProbe.all)}  (chance 20.0%)`);
    }
    console.log(`contact sheet: ${relative(process.cwd(), sheetPath)}`);
    if (probePath) console.log(`high-noise x̂₀ probe: ${relative(process.cwd(), probePath)}`);
  } finally {
    await model.host.release();
  }
}
