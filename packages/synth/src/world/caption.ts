/**
 * The caption grammar, both ways. Captions are lowercase words separated by single spaces:
 *
 *   caption    := object [ "and" object ] [ background ]
 *   object     := ("a" | "an") [size] [colour] (shape | "shape") [position]
 *   position   := "in the centre" | "on the" ("left" | "right")
 *               | "at the" ("top" | "bottom") [ "left" | "right" ]
 *   background := "on" ("a" | "an") [ "plain" ] [colour] [ "gradient" ] "background"
 *
 * ("plain" = solid, "gradient" = gradient; at most one of them). `formatCaption` writes the
 * canonical sentence of a description and `parseCaption` inverts it exactly, so captions and
 * descriptions round-trip. CAPTION_VOCABULARY lists every word the grammar can produce, for the
 * tokenizer.
 */
import { SynthError } from "../errors";
import {
  COLOURS,
  POSITIONS,
  SHAPES,
  SIZES,
  type Colour,
  type Position,
  type Shape,
  type Size,
} from "./attributes";
import { type BackgroundDescription, type Description, type ObjectDescription } from "./scene";

const POSITION_PHRASE: Readonly<Record<Position, string>> = {
  centre: "in the centre",
  "top left": "at the top left",
  "top right": "at the top right",
  "bottom left": "at the bottom left",
  "bottom right": "at the bottom right",
  top: "at the top",
  bottom: "at the bottom",
  left: "on the left",
  right: "on the right",
};

/** "a" or "an" before a word, by its first letter. */
function article(next: string): string {
  return /^[aeiou]/.test(next) ? "an" : "a";
}

function objectPhrase(d: ObjectDescription): string {
  const words = [d.size, d.colour, d.shape ?? "shape"].filter((w): w is string => w !== undefined);
  const head = `${article(words[0] ?? "")} ${words.join(" ")}`;
  return d.position === undefined ? head : `${head} ${POSITION_PHRASE[d.position]}`;
}

function backgroundPhrase(d: BackgroundDescription): string | null {
  if (d.colour === undefined && d.style === undefined) return null;
  const words = [
    d.style === "solid" ? "plain" : undefined,
    d.colour,
    d.style === "gradient" ? "gradient" : undefined,
    "background",
  ].filter((w): w is string => w !== undefined);
  return `on ${article(words[0] ?? "")} ${words.join(" ")}`;
}

/** Description → its canonical caption. Throws SynthError("INVALID_OPTIONS") for 0 or more than 2 objects. */
export function formatCaption(description: Description): string {
  const n = description.objects.length;
  if (n < 1 || n > 2)
    throw new SynthError("INVALID_OPTIONS", `a caption describes one or two objects, got ${n}`);
  const parts = [description.objects.map(objectPhrase).join(" and ")];
  const bg = description.background === undefined ? null : backgroundPhrase(description.background);
  if (bg !== null) parts.push(bg);
  return parts.join(" ");
}

/** Every word the grammar can produce, sorted; the shapes-world tokenizer vocabulary. */
export const CAPTION_VOCABULARY: readonly string[] = [
  ...new Set([
    "a",
    "an",
    "and",
    "shape",
    "on",
    "plain",
    "gradient",
    "background",
    ...SIZES,
    ...COLOURS,
    ...SHAPES,
    ...Object.values(POSITION_PHRASE).flatMap((p) => p.split(" ")),
  ]),
].sort();

/**
 * Longest caption in words: two objects with size, colour, shape and a three-word-tail position
 * (8 words each), "and", and a five-word background phrase.
 */
export const MAX_CAPTION_WORDS = 8 + 1 + 8 + 5;

class Cursor {
  private i = 0;
  constructor(
    private readonly words: readonly string[],
    private readonly caption: string,
  ) {}
  peek(offset = 0): string | undefined {
    return this.words[this.i + offset];
  }
  next(): string | undefined {
    return this.words[this.i++];
  }
  isDone(): boolean {
    return this.i >= this.words.length;
  }
  fail(expected: string): never {
    const got = this.peek();
    throw new SynthError(
      "INVALID_CAPTION",
      `caption "${this.caption}": expected ${expected} at word ${this.i + 1}, got ${got === undefined ? "end of caption" : `"${got}"`}`,
    );
  }
  expect(...options: string[]): string {
    const w = this.peek();
    if (w === undefined || !options.includes(w)) this.fail(options.map((o) => `"${o}"`).join(" or "));
    this.i++;
    return w;
  }
  take<T extends string>(options: readonly T[]): T | undefined {
    const w = this.peek();
    const hit = options.find((o) => o === w);
    if (hit !== undefined) this.i++;
    return hit;
  }
}

function parseObject(c: Cursor): ObjectDescription {
  c.expect("a", "an");
  const d: ObjectDescription = {};
  const size: Size | undefined = c.take(SIZES);
  if (size !== undefined) d.size = size;
  const colour: Colour | undefined = c.take(COLOURS);
  if (colour !== undefined) d.colour = colour;
  const shape: Shape | undefined = c.take(SHAPES);
  if (shape !== undefined) d.shape = shape;
  else c.expect("shape");
  const w = c.peek();
  if (w === "in") {
    c.next();
    c.expect("the");
    c.expect("centre");
    d.position = "centre";
  } else if (w === "on" && c.peek(1) === "the") {
    c.next();
    c.next();
    d.position = c.expect("left", "right") === "left" ? "left" : "right";
  } else if (w === "at") {
    c.next();
    c.expect("the");
    const v = c.expect("top", "bottom");
    const h = c.take(["left", "right"] as const);
    const phrase = h === undefined ? v : `${v} ${h}`;
    const position = POSITIONS.find((p) => p === phrase);
    if (position === undefined) c.fail("a position");
    d.position = position;
  }
  return d;
}

function parseBackground(c: Cursor): BackgroundDescription {
  c.expect("on");
  c.expect("a", "an");
  const d: BackgroundDescription = {};
  if (c.take(["plain"] as const) !== undefined) d.style = "solid";
  const colour = c.take(COLOURS);
  if (colour !== undefined) d.colour = colour;
  if (d.style === undefined && c.take(["gradient"] as const) !== undefined) d.style = "gradient";
  c.expect("background");
  if (d.colour === undefined && d.style === undefined) c.fail('a colour or style before "background"');
  return d;
}

/**
 * Caption → the description it specifies (exactly the attributes it names). Words are split the
 * way the tokenizer splits them (lower-cased, on anything but letters and digits), so "A red
 * circle." parses; "a"/"an" are accepted either way. Throws SynthError("INVALID_CAPTION") naming
 * the first unexpected word.
 */
export function parseCaption(caption: string): Description {
  const words = caption
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
  const c = new Cursor(words, caption);
  const objects = [parseObject(c)];
  if (c.peek() === "and") {
    c.next();
    objects.push(parseObject(c));
  }
  const result: Description = { objects };
  if (!c.isDone()) result.background = parseBackground(c);
  if (!c.isDone()) c.fail("end of caption");
  return result;
}

/** parseCaption, or null for text outside the grammar (e.g. a free-form user prompt). */
export function tryParseCaption(caption: string): Description | null {
  try {
    return parseCaption(caption);
  } catch (e) {
    if (e instanceof SynthError && e.code === "INVALID_CAPTION") return null;
    throw e;
  }
}

/** Words in the canonical caption of a description. */
export function captionWordCount(description: Description): number {
  return formatCaption(description).split(" ").length;
}

/** Shortest caption any description can have: "a circle and a square". */
export const MIN_CAPTION_WORDS_LIMIT = 5;

/**
 * Drops attributes until the caption fits in `maxWords` (for a text encoder with a short
 * context): the background style, then the background, then positions, sizes and colours, last
 * object first. Shapes are never dropped, so two-object captions need maxWords ≥ 5.
 */
export function shortenDescription(description: Description, maxWords: number): Description {
  if (!Number.isInteger(maxWords) || maxWords < MIN_CAPTION_WORDS_LIMIT) {
    throw new SynthError(
      "INVALID_OPTIONS",
      `maxWords must be an integer ≥ ${MIN_CAPTION_WORDS_LIMIT}, got ${maxWords}`,
    );
  }
  const objects = description.objects.map((o) => ({ ...o }));
  let background = description.background === undefined ? undefined : { ...description.background };
  const current = (): Description => (background === undefined ? { objects } : { objects, background });
  const steps: Array<() => void> = [
    () => {
      if (background !== undefined) delete background.style;
    },
    () => (background = undefined),
    ...(["position", "size", "colour"] as const).flatMap((key) =>
      [...objects].reverse().map((o) => () => delete o[key]),
    ),
  ];
  for (const step of steps) {
    if (captionWordCount(current()) <= maxWords) break;
    step();
    if (background !== undefined && background.colour === undefined && background.style === undefined)
      background = undefined;
  }
  return current();
}
