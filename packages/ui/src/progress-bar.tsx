/** A determinate progress bar; `value` in [0, 1]. */
export function ProgressBar({ value, label }: { value: number; label: string }) {
  const pct = Math.round(Math.min(1, Math.max(0, value)) * 100);
  return (
    <div
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={pct}
      className="h-2 w-full rounded bg-zinc-800"
    >
      <div className="h-2 rounded bg-indigo-500 transition-[width]" style={{ width: `${pct}%` }} />
    </div>
  );
}
