/**
 * Diffusion-DPO training pairs (Wallace et al. 2023) from the binary feedback this platform has: an image
 * liked and an image disliked for the same prompt make a pair (winner, loser). Deterministic, no seed:
 * - prompts are matched by exact string equality, in order of first appearance;
 * - within a prompt, likes and dislikes keep their input order;
 * - `cycle` (default): max(n_like, n_dislike) pairs, pair k = (like k mod n_like, dislike k mod n_dislike),
 *   so every labelled image of the prompt is used and a prompt's weight grows linearly with its votes;
 * - `all`: the n_like·n_dislike cross product (like-major), the way Pick-a-Pic counts every comparison;
 * - `maxPairsPerPrompt` caps either (keeps the first pairs in the order above);
 * - prompts with only likes or only dislikes give no pair and are counted in `unpairedPrompts`.
 */
import { KtoError } from "../errors";

export type DpoPair = { readonly winner: number; readonly loser: number; readonly prompt: string };

export type DpoPairOptions = { readonly mode?: "cycle" | "all"; readonly maxPairsPerPrompt?: number };

/** prompts [n], labels [n] (+1 like / −1 dislike) → pairs of example indices, and what could not be paired. */
export function buildDpoPairs(
  prompts: readonly string[],
  labels: ArrayLike<number>,
  o: DpoPairOptions = {},
): { pairs: DpoPair[]; unpairedPrompts: number; unpairedImages: number } {
  const mode = o.mode ?? "cycle";
  const cap = o.maxPairsPerPrompt ?? Number.POSITIVE_INFINITY;
  if (prompts.length !== labels.length)
    throw new KtoError(
      "INVALID_OBJECTIVE",
      `buildDpoPairs: ${prompts.length} prompts but ${labels.length} labels`,
    );
  if (mode !== "cycle" && mode !== "all")
    throw new KtoError(
      "INVALID_OBJECTIVE",
      `buildDpoPairs: unknown mode ${JSON.stringify(mode)} (cycle, all)`,
    );
  if (!(cap >= 1))
    throw new KtoError("INVALID_OBJECTIVE", `buildDpoPairs: maxPairsPerPrompt must be ≥ 1 (got ${cap})`);
  const groups = new Map<string, { likes: number[]; dislikes: number[] }>();
  for (let i = 0; i < prompts.length; i++) {
    const y = labels[i];
    if (y !== 1 && y !== -1)
      throw new KtoError(
        "INVALID_OBJECTIVE",
        `label ${i} is ${y}; labels must be +1 (liked) or −1 (disliked)`,
      );
    const p = prompts[i] ?? "";
    let g = groups.get(p);
    if (!g) groups.set(p, (g = { likes: [], dislikes: [] }));
    (y === 1 ? g.likes : g.dislikes).push(i);
  }
  const pairs: DpoPair[] = [];
  let unpairedPrompts = 0;
  let unpairedImages = 0;
  for (const [prompt, { likes, dislikes }] of groups) {
    if (likes.length === 0 || dislikes.length === 0) {
      unpairedPrompts++;
      unpairedImages += likes.length + dislikes.length;
      continue;
    }
    const n = Math.min(
      cap,
      mode === "cycle" ? Math.max(likes.length, dislikes.length) : likes.length * dislikes.length,
    );
    for (let k = 0; k < n; k++) {
      const [w, l] =
        mode === "cycle"
          ? [k % likes.length, k % dislikes.length]
          : [Math.floor(k / dislikes.length), k % dislikes.length];
      pairs.push({ winner: likes[w] ?? 0, loser: dislikes[l] ?? 0, prompt });
    }
  }
  return { pairs, unpairedPrompts, unpairedImages };
}

/**
 * pairs[from, from + P) → example order of a DPO batch in the [winners, losers] layout (int32 [2P]); the
 * data pipeline must give slots i and P + i the same t and ε.
 */
export function pairBatchOrder(pairs: readonly DpoPair[]): Int32Array {
  const P = pairs.length;
  const out = new Int32Array(2 * P);
  pairs.forEach((p, i) => {
    out[i] = p.winner;
    out[P + i] = p.loser;
  });
  return out;
}
