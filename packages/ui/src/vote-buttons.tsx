import { cn } from "./cn.ts";

export type VoteValue = "like" | "dislike";

export type VoteButtonsProps = {
  /** The viewer's current vote on this image, if any. */
  value: VoteValue | null;
  /** Called with the new value; `null` when the pressed button was already active (clears the vote). */
  onChange: (next: VoteValue | null) => void;
  disabled?: boolean;
  className?: string;
};

/** Like / dislike toggle for one image. Presentational: props in, events out; knows nothing about the API. */
export function VoteButtons({ value, onChange, disabled = false, className }: VoteButtonsProps) {
  const button = (kind: VoteValue, label: string, glyph: string, key: string) => (
    <button
      type="button"
      aria-pressed={value === kind}
      aria-label={label}
      title={`${label} (${key})`}
      disabled={disabled}
      data-vote={kind}
      onClick={() => onChange(value === kind ? null : kind)}
      className={cn(
        "lw-vote",
        `lw-vote-${kind}`,
        value === kind && "lw-vote-active",
        "inline-flex min-w-28 items-center justify-center gap-2 rounded-lg border px-4 py-2 text-base font-medium transition",
        "disabled:cursor-not-allowed disabled:opacity-50",
        value === kind
          ? kind === "like"
            ? "border-emerald-400 bg-emerald-600 text-white"
            : "border-rose-400 bg-rose-600 text-white"
          : "border-zinc-700 bg-zinc-800 text-zinc-100 hover:bg-zinc-700",
      )}
    >
      <span aria-hidden="true">{glyph}</span> {label}
    </button>
  );
  return (
    <div role="group" aria-label="Rate this image" className={cn("lw-vote-buttons flex gap-3", className)}>
      {button("like", "Like", "👍", "L")}
      {button("dislike", "Dislike", "👎", "D")}
    </div>
  );
}
