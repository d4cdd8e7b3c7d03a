export type Shortcut = { keys: readonly string[]; action: string };

/** The on-page list of keyboard shortcuts. */
export function KeyboardHelp({
  shortcuts,
  title = "Keyboard shortcuts",
}: {
  shortcuts: readonly Shortcut[];
  title?: string;
}) {
  return (
    <section aria-label={title} className="rounded-lg border border-zinc-800 bg-zinc-900/60 p-4 text-sm">
      <h2 className="mb-2 font-semibold text-zinc-200">{title}</h2>
      <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1">
        {shortcuts.map((s) => (
          <div key={s.action} className="contents">
            <dt className="flex gap-1">
              {s.keys.map((k) => (
                <kbd
                  key={k}
                  className="rounded border border-zinc-600 bg-zinc-800 px-1.5 font-mono text-xs text-zinc-100"
                >
                  {k}
                </kbd>
              ))}
            </dt>
            <dd className="text-zinc-400">{s.action}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
