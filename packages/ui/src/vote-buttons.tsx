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
  const button = (kind: VoteValue, label: string, key: string) => (
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
      <Thumb down={kind === "dislike"} /> {label}
    </button>
  );
  return (
    <div role="group" aria-label="Rate this image" className={cn("lw-vote-buttons flex gap-3", className)}>
      {button("like", "Like", "L")}
      {button("dislike", "Dislike", "D")}
    </div>
  );
}

/** A thumb icon as inline SVG (emoji fonts are not installed everywhere); `down` flips it. */
function Thumb({ down }: { down: boolean }) {
  return (
    <svg
      aria-hidden="true"
      viewBox="0 0 24 24"
      width="18"
      height="18"
      style={down ? { transform: "rotate(180deg)" } : undefined}
    >
      <path
        fill="currentColor"
        d="M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L13.2 1 6.6 7.6C6.2 8 6 8.5 6 9v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z"
      />
    </svg>
  );
}
