import "~/server/only";

import { splitWords, type Tokenizer } from "@likewise/serving";

// Characters no prompt may hold: C0/C1 controls (tab and NUL included) and DEL; bidi embeddings, overrides and
// isolates (they reorder what a reader sees); zero-width characters and marks (visually identical prompts that
// differ); U+FFFD (bytes that were not UTF-8, or a file cut mid-character); unpaired surrogates.
const FORBIDDEN =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ufffd\ud800-\udfff]/u;

/** Why this text cannot be a prompt whatever the model (an invisible or control character, by code point), or null. */
export function textProblem(text: string): string | null {
  const m = FORBIDDEN.exec(text);
  const c = m?.[0];
  if (c === undefined) return null;
  const code = `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
  if (c === "\ufffd") return `contains ${code}: bytes that are not UTF-8 text, or a file cut mid-character`;
  if (/[\ud800-\udfff]/u.test(c)) return `contains an unpaired surrogate (${code}): not valid Unicode text`;
  if (c <= "\u009f") return `contains the control character ${code}`;
  return `contains the invisible formatting character ${code}`;
}

/** Why the model cannot read this prompt as written (unknown words by name, too many words), or null if it can. */
export function promptProblem(tokenizer: Tokenizer, text: string): string | null {
  const invalid = textProblem(text);
  if (invalid) return invalid;
  const words = splitWords(text);
  if (words.length === 0) return "the prompt has no words (letters or digits)";
  const { unknownWords, isTruncated } = tokenizer.encode(text);
  if (unknownWords.length > 0) {
    const unique = [...new Set(unknownWords)];
    return `the model does not know ${unique.length === 1 ? "the word" : "the words"} ${unique
      .map((w) => `"${w}"`)
      .join(", ")}`;
  }
  if (isTruncated) return `${words.length} words; the model reads at most ${tokenizer.contextLength}`;
  return null;
}

/** The words the model knows (for the form's hint), without the special tokens. */
export function knownWords(tokenizer: Tokenizer): string[] {
  return tokenizer.vocab.filter((w) => !w.startsWith("<"));
}
