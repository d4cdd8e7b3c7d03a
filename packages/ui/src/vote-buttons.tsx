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
      className={cn("lw-vote", `lw-vote-${kind}`, value === kind && "lw-vote-active")}
    >
      <span aria-hidden="true">{glyph}</span> {label}
    </button>
  );
  return (
    <div role="group" aria-label="Rate this image" className={cn("lw-vote-buttons", className)}>
      {button("like", "Like", "👍", "L")}
      {button("dislike", "Dislike", "👎", "D")}
    </div>
  );
}
