/**
 * Word-level tokenizer of the `tiny` family's text encoder. Deliberately trivial so that
 * packages/serving (which cannot import kto) implements the identical function from the spec:
 * lowercase; split on /[^a-z0-9]+/; drop empty pieces; map each word through the vocabulary
 * (index 0 = "<pad>", 1 = "<unk>" for unknown words); truncate to L; right-pad with 0.
 * The empty prompt (all pads) is the unconditional input of classifier-free guidance.
 */

export const PAD_TOKEN = "<pad>";
export const UNK_TOKEN = "<unk>";
export const PAD_ID = 0;
export const UNK_ID = 1;

/** A vocabulary: words in id order; vocab[0] = "<pad>", vocab[1] = "<unk>". */
export type Vocabulary = readonly string[];

/** Lowercased words of a prompt, in order (the tokenizer's split step). */
export function splitWords(prompt: string): string[] {
  return prompt
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

/** A vocabulary from words: "<pad>", "<unk>", then the distinct words in first-seen order. */
export function buildVocabulary(words: Iterable<string>): Vocabulary {
  const seen = new Set<string>([PAD_TOKEN, UNK_TOKEN]);
  for (const w of words) for (const piece of splitWords(w)) seen.add(piece);
  return [...seen];
}

export class Tokenizer {
  private readonly ids: Map<string, number>;

  constructor(
    readonly vocabulary: Vocabulary,
    readonly contextLength: number,
  ) {
    if (vocabulary[PAD_ID] !== PAD_TOKEN || vocabulary[UNK_ID] !== UNK_TOKEN) {
      throw new Error(`vocabulary must start with "${PAD_TOKEN}", "${UNK_TOKEN}"`);
    }
    this.ids = new Map(vocabulary.map((w, i) => [w, i]));
  }

  /** prompt → int32 ids [L], padded with 0 / truncated to contextLength. */
  encode(prompt: string): Int32Array {
    const out = new Int32Array(this.contextLength); // zeros = <pad>
    const words = splitWords(prompt);
    for (let i = 0; i < Math.min(words.length, this.contextLength); i++) {
      out[i] = this.ids.get(words[i] ?? "") ?? UNK_ID;
    }
    return out;
  }

  /** prompts → int32 ids [N·L] row-major (shape [N, L]). */
  encodeBatch(prompts: readonly string[]): Int32Array {
    const out = new Int32Array(prompts.length * this.contextLength);
    prompts.forEach((p, i) => out.set(this.encode(p), i * this.contextLength));
    return out;
  }
}
