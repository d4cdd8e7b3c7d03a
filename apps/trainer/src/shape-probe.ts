// The shape probe: does the model draw the asked outline, on every background and at every size? One object of one
// colour at the centre, every shape × size × plain background (but the object's colour), a few seeds each, judged.
// The held-out evaluation set mixes colours, positions and two-object scenes, so on a model trained in a narrow world
// it cannot say where the shape is lost; this grid can. The background is judged too: a model that draws the shape
// on the wrong background (one trained on a single background colour) must not pass for one that draws it on all.
import type { LoadedModel } from "@likewise/serving";
import { sampleImages } from "@likewise/serving";
import {
  COLOURS,
  type Colour,
  type Description,
  formatCaption,
  type Judgement,
  judgeImage,
  SHAPES,
  SIZES,
  summarizeJudgements,
} from "@likewise/synth";

export type ShapeProbeOptions = {
  colour?: Colour;
  seeds?: number;
  seed?: number;
  steps?: number;
  guidanceScale?: number;
};
/** Shape accuracy and how often the background came out as asked, over one group of the grid's images. */
export type ShapeProbeCell = { readonly images: number; readonly shape: number; readonly background: number };
export type ShapeProbe = {
  readonly colour: Colour;
  readonly seeds: number;
  readonly all: ShapeProbeCell;
  readonly byBackground: Readonly<Partial<Record<Colour, ShapeProbeCell>>>;
  readonly bySize: Readonly<Record<(typeof SIZES)[number], ShapeProbeCell>>;
};

const cell = (js: readonly Judgement[]): ShapeProbeCell => {
  const s = summarizeJudgements(js);
  return {
    images: js.length,
    shape: s.attributes.shape.accuracy,
    background: s.attributes.backgroundColour.accuracy,
  };
};

export async function probeShapes(model: LoadedModel, o: ShapeProbeOptions = {}): Promise<ShapeProbe> {
  const colour = o.colour ?? "red";
  if (!(COLOURS as readonly string[]).includes(colour))
    throw new RangeError(`colour must be one of ${COLOURS.join(", ")} (got "${colour}")`);
  const seeds = o.seeds ?? 4;
  if (!Number.isInteger(seeds) || seeds < 1)
    throw new RangeError(`seeds must be a positive integer (got ${seeds})`);
  const seed = o.seed ?? 500;
  const grid: { description: Description; background: Colour; size: (typeof SIZES)[number] }[] = [];
  for (const background of COLOURS.filter((c) => c !== colour))
    for (const size of SIZES)
      for (const shape of SHAPES)
        for (let k = 0; k < seeds; k++)
          grid.push({
            description: {
              objects: [{ shape, colour, size, position: "centre" }],
              background: { colour: background, style: "solid" },
            },
            background,
            size,
          });
  const judged: Judgement[] = [];
  for (let k = 0; k < grid.length; k += 32) {
    const chunk = grid.slice(k, k + 32);
    const out = await sampleImages(model, {
      prompts: chunk.map((g) => formatCaption(g.description)),
      seeds: chunk.map((_g, i) => seed + k + i),
      steps: o.steps ?? 25,
      guidanceScale: o.guidanceScale ?? 3,
    });
    out.images.forEach((img, i) =>
      judged.push(judgeImage(img, (chunk[i] as (typeof grid)[number]).description)),
    );
  }
  const where = (keep: (g: (typeof grid)[number]) => boolean) =>
    cell(judged.filter((_j, i) => keep(grid[i] as (typeof grid)[number])));
  return {
    colour,
    seeds,
    all: cell(judged),
    byBackground: Object.fromEntries(
      COLOURS.filter((c) => c !== colour).map((bg) => [bg, where((g) => g.background === bg)]),
    ),
    bySize: Object.fromEntries(SIZES.map((s) => [s, where((g) => g.size === s)])) as Record<
      (typeof SIZES)[number],
      ShapeProbeCell
    >,
  };
}
