import "server-only";

import { splitWords, type Tokenizer } from "@likewise/serving";

/** Why the model cannot read this prompt as written (unknown words by name, too many words), or null if it can. */
export function promptProblem(tokenizer: Tokenizer, text: string): string | null {
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
