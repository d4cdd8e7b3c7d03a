// Toy dataset for kto tests and benchmarks: coloured squares in one of four quadrants on a dark
// background, with captions "a <colour> square <top|bottom> <left|right>". Seeded, in memory.
import { createModelConfig, type ModelConfig } from "../model/config";
import { createRng } from "../rng";
import { buildVocabulary, Tokenizer } from "../tokenizer";
import { type TrainingSet } from "../train/batch";

const COLOURS: Record<string, [number, number, number]> = {
  red: [0.9, -0.8, -0.8],
  green: [-0.8, 0.8, -0.8],
  blue: [-0.8, -0.7, 0.9],
  yellow: [0.9, 0.9, -0.8],
};
const ROWS = ["top", "bottom"] as const;
const COLS = ["left", "right"] as const;

export const TOY_VOCABULARY = buildVocabulary(["a square", ...Object.keys(COLOURS), ...ROWS, ...COLS]);

/** The small 16 px model the kto tests train on toy squares (context length 6). */
export const TOY_MODEL_CONFIG: ModelConfig = createModelConfig({
  imageSize: 16,
  channels: [16, 32, 32],
  attentionHeads: 4,
  timeEmbedDim: 16,
  timeHiddenDim: 64,
  text: { vocabSize: TOY_VOCABULARY.length, contextLength: 6, dim: 32, layers: 1, heads: 4, mlpRatio: 2 },
});

/** n seeded toy examples at `size` px with context length `contextLength`. */
export function toySquares(
  n: number,
  size: number,
  contextLength: number,
  seed: number,
): TrainingSet & { captions: string[] } {
  const rng = createRng(seed, 0x70);
  const tok = new Tokenizer(TOY_VOCABULARY, contextLength);
  const P = size * size * 3;
  const images = new Float32Array(n * P);
  const captions: string[] = [];
  const names = Object.keys(COLOURS);
  for (let i = 0; i < n; i++) {
    const colour = names[rng.int(names.length)] ?? "red";
    const row = rng.int(2);
    const col = rng.int(2);
    captions.push(`a ${colour} square ${ROWS[row]} ${COLS[col]}`);
    const rgb = COLOURS[colour] ?? [0, 0, 0];
    const half = size / 2;
    const side = Math.round(size * 0.375);
    const y0 = row * half + Math.floor((half - side) / 2);
    const x0 = col * half + Math.floor((half - side) / 2);
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        const inside = y >= y0 && y < y0 + side && x >= x0 && x < x0 + side;
        for (let c = 0; c < 3; c++) images[i * P + (y * size + x) * 3 + c] = inside ? (rgb[c] ?? 0) : -0.6;
      }
  }
  return { size: n, tokens: tok.encodeBatch(captions), images, captions };
}
