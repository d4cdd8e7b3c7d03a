/**
 * A fixed evaluation prompt set: fully specified captions whose attribute values are balanced
 * (each shape, colour, size and position appears about equally often), so per-attribute
 * fidelity on it is not skewed by whichever values a random draw happened to favour. The same
 * (count, seed) always gives the same prompts; the default seed is outside any training stream
 * a caller is likely to use (training uses example indices, evaluation uses this list).
 */
import { SynthError } from "../errors";
import { createRng, type Rng } from "../rng";
import {
  BACKGROUND_STYLES,
  COLOURS,
  POSITIONS,
  SHAPES,
  SIZES,
  type Colour,
  type Position,
} from "./attributes";
import { formatCaption } from "./caption";
import { type Description } from "./scene";

export type EvalPrompt = { caption: string; description: Description };

export const DEFAULT_EVAL_SEED = 424_242;

/** `values` repeated to length n, then shuffled: balanced marginals in random order. */
function balanced<T>(values: readonly T[], n: number, rng: Rng): T[] {
  const out = Array.from({ length: n }, (_, i) => values[i % values.length] as T); // safe: values is non-empty
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = out[i] as T;
    out[i] = out[j] as T;
    out[j] = tmp;
  }
  return out;
}

const OPPOSITE: Readonly<Record<Position, Position>> = {
  centre: "centre",
  "top left": "bottom right",
  "top right": "bottom left",
  "bottom left": "top right",
  "bottom right": "top left",
  top: "bottom",
  bottom: "top",
  left: "right",
  right: "left",
};

/**
 * `count` evaluation prompts (default 50): every fifth describes two objects at opposite
 * positions (small/medium, as in training); all name size, colour, shape, position and the
 * background colour and style.
 */
export function evaluationPrompts(count = 50, seed = DEFAULT_EVAL_SEED): EvalPrompt[] {
  if (!Number.isInteger(count) || count < 1)
    throw new SynthError("INVALID_OPTIONS", `count must be a positive integer, got ${count}`);
  const rng = createRng(seed);
  const shapes = balanced(SHAPES, count, rng);
  const colours = balanced(COLOURS, count, rng);
  const sizes = balanced(SIZES, count, rng);
  const positions = balanced(POSITIONS, count, rng);
  const backgrounds = balanced(COLOURS, count, rng);
  const styles = balanced(BACKGROUND_STYLES, count, rng);
  return Array.from({ length: count }, (_, i): EvalPrompt => {
    const colour = colours[i] as Colour;
    const isPair = i % 5 === 4;
    let bg = backgrounds[i] as Colour;
    const taken = new Set<Colour>([colour]);
    const second = isPair
      ? (COLOURS.filter((c) => c !== colour)[rng.int(COLOURS.length - 1)] as Colour)
      : undefined;
    if (second !== undefined) taken.add(second);
    while (taken.has(bg)) bg = COLOURS[(COLOURS.indexOf(bg) + 1) % COLOURS.length] as Colour;
    const style = styles[i] ?? "solid";
    let description: Description;
    if (second === undefined) {
      description = {
        objects: [
          {
            size: sizes[i] ?? "medium",
            colour,
            shape: shapes[i] ?? "circle",
            position: positions[i] ?? "centre",
          },
        ],
        background: { colour: bg, style },
      };
    } else {
      const position = positions[i] === "centre" ? "left" : (positions[i] ?? "left");
      description = {
        objects: [
          {
            size: sizes[i] === "large" ? "medium" : (sizes[i] ?? "small"),
            colour,
            shape: shapes[i] ?? "circle",
            position,
          },
          {
            size: rng.pick(["small", "medium"] as const),
            colour: second,
            shape: rng.pick(SHAPES),
            position: OPPOSITE[position],
          },
        ],
        background: { colour: bg, style },
      };
    }
    return { caption: formatCaption(description), description };
  });
}
