/**
 * Scenes — what an image contains, fully specified — and descriptions — what a caption says,
 * possibly partially. `sampleScene` draws a scene from the world's prior; `describeScene` turns
 * it into a (possibly partial) description that `formatCaption` writes out. Keeping the two apart
 * is what lets the judge score "a red shape" without demanding a particular shape.
 */
import { type Rng } from "../rng";
import { shortenDescription } from "./caption";
import {
  BACKGROUND_STYLES,
  COLOURS,
  POSITIONS,
  SHAPES,
  SIZES,
  SIZE_RADIUS,
  positionAnchor,
  type BackgroundStyle,
  type Colour,
  type Position,
  type Shape,
  type Size,
} from "./attributes";

/** One object in a scene. Geometry is in fractions of the image side. */
export type SceneObject = {
  shape: Shape;
  colour: Colour;
  size: Size;
  position: Position;
  /** Area centroid, fractions of the side (0 = left/top). */
  x: number;
  y: number;
  /** Equivalent radius √(filled area / π), fraction of the side. */
  radius: number;
  /** Radians, clockwise in image coordinates. */
  rotation: number;
};

export type SceneBackground = {
  colour: Colour;
  style: BackgroundStyle;
  /** Gradients only: the axis along which the shade changes. */
  direction: "vertical" | "horizontal";
  /** Gradients only: true = light end first (top/left). */
  isReversed: boolean;
};

export type Scene = { objects: SceneObject[]; background: SceneBackground };

/** What a caption says about one object; a missing key is unspecified. */
export type ObjectDescription = { shape?: Shape; colour?: Colour; size?: Size; position?: Position };
/** What a caption says about the background; a missing key is unspecified. */
export type BackgroundDescription = { colour?: Colour; style?: BackgroundStyle };
/** What a caption says: one or two objects and maybe the background. */
export type Description = { objects: ObjectDescription[]; background?: BackgroundDescription };

export type SceneOptions = {
  /** Probability of a two-object scene; default 0.25. */
  twoObjectRate?: number;
  /**
   * A narrower world: draw only these values (default: all of each). For curriculum stages of pretraining, where a
   * model first learns placement in a world with little else to explain (BENCHMARKS.md "Base model"). Object colours
   * still avoid the background colour and each other. Checked by `sceneOptionsProblem`.
   */
  shapes?: readonly Shape[];
  colours?: readonly Colour[];
  sizes?: readonly Size[];
  backgrounds?: readonly Colour[];
  styles?: readonly BackgroundStyle[];
};

/** Sizes two-object scenes use: large ones would collide at opposite edges. */
const PAIR_SIZES: readonly Size[] = ["small", "medium"];

/**
 * Why `options` cannot produce scenes, or null when they can: each restriction a non-empty list of known values without
 * repeats, a free object colour for every background (two when two-object scenes occur), and small or medium sizes
 * when two-object scenes occur.
 */
export function sceneOptionsProblem(options: SceneOptions): string | null {
  const lists: Array<[string, readonly string[] | undefined, readonly string[]]> = [
    ["shapes", options.shapes, SHAPES],
    ["colours", options.colours, COLOURS],
    ["sizes", options.sizes, SIZES],
    ["backgrounds", options.backgrounds, COLOURS],
    ["styles", options.styles, BACKGROUND_STYLES],
  ];
  for (const [name, list, known] of lists) {
    if (list === undefined) continue;
    if (list.length === 0) return `scene.${name} must be a non-empty list of ${known.join(", ")}`;
    const unknown = list.find((v) => !known.includes(v));
    if (unknown !== undefined)
      return `scene.${name}: unknown value "${String(unknown)}" (one of ${known.join(", ")})`;
    if (new Set(list).size !== list.length) return `scene.${name} lists a value twice`;
  }
  const pairs = (options.twoObjectRate ?? 0.25) > 0;
  const colours = options.colours ?? COLOURS;
  for (const bg of options.backgrounds ?? COLOURS) {
    const free = colours.filter((c) => c !== bg).length;
    if (free < (pairs ? 2 : 1)) {
      return `scene.colours leaves ${free} object colour${free === 1 ? "" : "s"} on a ${bg} background; ${pairs ? "two-object scenes need 2 (or set twoObjectRate 0)" : "need 1"}`;
    }
  }
  if (pairs && !(options.sizes ?? SIZES).some((s) => PAIR_SIZES.includes(s))) {
    return "scene.sizes must include small or medium while two-object scenes occur (large pairs would collide; or set twoObjectRate 0)";
  }
  return null;
}

/** Position pairs for two-object scenes: opposite sides, so small and medium shapes never overlap. */
const OPPOSITE_PAIRS: ReadonlyArray<readonly [Position, Position]> = [
  ["left", "right"],
  ["top", "bottom"],
  ["top left", "bottom right"],
  ["top right", "bottom left"],
];

const ROTATION_JITTER = (10 * Math.PI) / 180;
const POSITION_JITTER = 0.02;
const SIZE_JITTER = 0.07;

function placeObject(rng: Rng, shape: Shape, colour: Colour, size: Size, position: Position): SceneObject {
  const rotation = shape === "circle" || shape === "ring" ? 0 : rng.range(-ROTATION_JITTER, ROTATION_JITTER);
  const radius = SIZE_RADIUS[size] * rng.range(1 - SIZE_JITTER, 1 + SIZE_JITTER);
  const [ax, ay] = positionAnchor(position, shape, radius, rotation);
  return {
    shape,
    colour,
    size,
    position,
    x: ax + rng.range(-POSITION_JITTER, POSITION_JITTER),
    y: ay + rng.range(-POSITION_JITTER, POSITION_JITTER),
    radius,
    rotation,
  };
}

/**
 * A scene from the world's prior: uniform attributes (over `options`' lists when given), object colours distinct from
 * each other and the background. Options must pass `sceneOptionsProblem` (sampleExample checks them).
 */
export function sampleScene(rng: Rng, options: SceneOptions = {}): Scene {
  const twoObjectRate = options.twoObjectRate ?? 0.25;
  const bgColour = rng.pick(options.backgrounds ?? COLOURS);
  const drawnStyle = rng.chance(0.5) ? "gradient" : "solid";
  const styles = options.styles ?? BACKGROUND_STYLES;
  const background: SceneBackground = {
    colour: bgColour,
    style: styles.includes(drawnStyle) ? drawnStyle : (styles[0] as BackgroundStyle),
    direction: rng.chance(0.5) ? "vertical" : "horizontal",
    isReversed: rng.chance(0.5),
  };
  const shapes = options.shapes ?? SHAPES;
  const sizes = options.sizes ?? SIZES;
  const free = (options.colours ?? COLOURS).filter((c) => c !== bgColour);
  const colourA = rng.pick(free);
  if (!rng.chance(twoObjectRate)) {
    const size = rng.pick(sizes); // drawn before the shape: the order of draws is part of the world (golden test)
    return { objects: [placeObject(rng, rng.pick(shapes), colourA, size, rng.pick(POSITIONS))], background };
  }
  const colourB = rng.pick(free.filter((c) => c !== colourA));
  const pair = rng.pick(OPPOSITE_PAIRS);
  const [pa, pb] = rng.chance(0.5) ? pair : ([pair[1], pair[0]] as const);
  const pairSizes = sizes.filter((s) => PAIR_SIZES.includes(s));
  return {
    objects: [
      placeObject(rng, rng.pick(shapes), colourA, rng.pick(pairSizes), pa),
      placeObject(rng, rng.pick(shapes), colourB, rng.pick(pairSizes), pb),
    ],
    background,
  };
}

/**
 * A scene that matches a description, with unspecified attributes drawn from the world's prior
 * (a reference rendering of a prompt). Constraints of sampleScene are kept where the description
 * leaves room: free colours avoid the background and each other; two objects without positions go
 * to opposite sides. Contradictions the description states ("a red circle on a red background")
 * are rendered as stated.
 */
export function completeScene(description: Description, rng: Rng): Scene {
  const stated = description.objects.map((o) => o.colour).filter((c): c is Colour => c !== undefined);
  const bgColour = description.background?.colour ?? rng.pick(COLOURS.filter((c) => !stated.includes(c)));
  const background: SceneBackground = {
    colour: bgColour,
    style: description.background?.style ?? (rng.chance(0.5) ? "gradient" : "solid"),
    direction: rng.chance(0.5) ? "vertical" : "horizontal",
    isReversed: rng.chance(0.5),
  };
  const isPair = description.objects.length > 1;
  const pair = rng.pick(OPPOSITE_PAIRS);
  const used = new Set<Colour>([bgColour, ...stated]);
  const objects = description.objects.map((d, i) => {
    let colour = d.colour;
    if (colour === undefined) {
      const free = COLOURS.filter((c) => !used.has(c));
      colour = rng.pick(free.length > 0 ? free : COLOURS);
      used.add(colour);
    }
    let position = d.position;
    if (position === undefined) {
      const other = description.objects[1 - i]?.position;
      const opposite = OPPOSITE_PAIRS.find(([a, b]) => a === other || b === other);
      position = !isPair
        ? rng.pick(POSITIONS)
        : opposite !== undefined
          ? opposite[0] === other
            ? opposite[1]
            : opposite[0]
          : (pair[i] ?? "centre");
    }
    const size = d.size ?? (isPair ? rng.pick(PAIR_SIZES) : rng.pick(SIZES));
    return placeObject(rng, d.shape ?? rng.pick(SHAPES), colour, size, position);
  });
  return { objects, background };
}

/** How much of a scene a caption mentions. Rates are probabilities in [0, 1]. */
export type CaptionOptions = {
  /** Drop rate of each of an object's colour, size and position; default 0.2. */
  attributeDropRate?: number;
  /** Drop rate of the shape ("a red shape …"); default 0.1. */
  shapeDropRate?: number;
  /** Rate of mentioning the background at all; default 0.7. */
  backgroundRate?: number;
  /** Given a mentioned background, rate of also saying its style ("plain"/"gradient"); default 0.5. */
  backgroundStyleRate?: number;
  /** Rate of giving positions in two-object captions (they make the longest captions); default 0.5. */
  twoObjectPositionRate?: number;
  /** Cap on caption length in words (≥ 5), for a short text-encoder context; default none (≤ MAX_CAPTION_WORDS). */
  maxWords?: number;
};

export const DEFAULT_CAPTION_OPTIONS: Readonly<Required<Omit<CaptionOptions, "maxWords">>> = {
  attributeDropRate: 0.2,
  shapeDropRate: 0.1,
  backgroundRate: 0.7,
  backgroundStyleRate: 0.5,
  twoObjectPositionRate: 0.5,
};

/** The full description of a scene: every attribute specified. */
export function fullDescription(scene: Scene): Description {
  return {
    objects: scene.objects.map(({ shape, colour, size, position }) => ({ shape, colour, size, position })),
    background: { colour: scene.background.colour, style: scene.background.style },
  };
}

/** A possibly partial description of a scene (what a caption for it says), drawn with `rng`. */
export function describeScene(scene: Scene, rng: Rng, options: CaptionOptions = {}): Description {
  const o = { ...DEFAULT_CAPTION_OPTIONS, ...options };
  const withPositions = scene.objects.length === 1 || rng.chance(o.twoObjectPositionRate);
  const objects = scene.objects.map((obj): ObjectDescription => {
    const d: ObjectDescription = {};
    if (!rng.chance(o.attributeDropRate)) d.size = obj.size;
    if (!rng.chance(o.attributeDropRate)) d.colour = obj.colour;
    if (!rng.chance(o.shapeDropRate)) d.shape = obj.shape;
    if (withPositions && !rng.chance(o.attributeDropRate)) d.position = obj.position;
    return d;
  });
  const fit = (d: Description): Description =>
    o.maxWords === undefined ? d : shortenDescription(d, o.maxWords);
  if (!rng.chance(o.backgroundRate)) return fit({ objects });
  const background: BackgroundDescription = { colour: scene.background.colour };
  if (rng.chance(o.backgroundStyleRate)) background.style = scene.background.style;
  return fit({ objects, background });
}
