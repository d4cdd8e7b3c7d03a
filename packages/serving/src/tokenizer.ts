/**
 * Word-level tokenizer. It must match the training side (packages/kto) token for token; the two
 * cannot import each other, so the rule is stated here and tests/ checks they agree:
 * lowercase → split on /[^a-z0-9]+/ → drop empties → vocabulary index (unknown → 1) →
 * truncate or pad with 0 to contextLength. The empty prompt is all pads: the unconditional input
 * for classifier-free guidance.
 */
export const PAD_ID = 0;
export const UNK_ID = 1;

export type Tokenized = {
  /** [contextLength] token ids. */
  ids: Int32Array;
  /** Words mapped to <unk>, in prompt order. */
  unknownWords: string[];
  /** True when the prompt had more words than contextLength and was cut. */
  isTruncated: boolean;
};

/** Prompt → words, exactly as the training tokenizer splits. */
export function splitWords(prompt: string): string[] {
  return prompt
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

export class Tokenizer {
  private readonly index: ReadonlyMap<string, number>;

  constructor(
    readonly vocab: readonly string[],
    readonly contextLength: number,
  ) {
    if (vocab[PAD_ID] !== "<pad>" || vocab[UNK_ID] !== "<unk>")
      throw new Error('vocab must start with "<pad>", "<unk>"');
    if (!Number.isInteger(contextLength) || contextLength < 1)
      throw new Error(`contextLength must be a positive integer, got ${contextLength}`);
    this.index = new Map(vocab.map((w, i) => [w, i]));
  }

  /** prompt → [contextLength] int32 ids with diagnostics. */
  encode(prompt: string): Tokenized {
    const words = splitWords(prompt);
    const ids = new Int32Array(this.contextLength); // zero-filled = <pad>
    const unknownWords: string[] = [];
    const n = Math.min(words.length, this.contextLength);
    for (let i = 0; i < words.length; i++) {
      const w = words[i] as string; // safe: i < words.length
      const id = this.index.get(w);
      if (id === undefined) unknownWords.push(w);
      if (i < n) ids[i] = id ?? UNK_ID;
    }
    return { ids, unknownWords, isTruncated: words.length > this.contextLength };
  }

  /** prompts → [N * contextLength] int64 ids, row-major, as the ONNX `tokens` input wants. */
  encodeBatch(prompts: readonly string[]): BigInt64Array {
    const out = new BigInt64Array(prompts.length * this.contextLength);
    prompts.forEach((p, r) => {
      const ids = this.encode(p).ids;
      for (let i = 0; i < ids.length; i++) out[r * this.contextLength + i] = BigInt(ids[i] ?? 0);
    });
    return out;
  }
}
