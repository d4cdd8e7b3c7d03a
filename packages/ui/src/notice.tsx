import type { ReactNode } from "react";

import { cn } from "./cn.ts";

export type NoticeTone = "info" | "success" | "error";

const TONES: Record<NoticeTone, string> = {
  info: "border-zinc-700 bg-zinc-900 text-zinc-200",
  success: "border-emerald-700 bg-emerald-950 text-emerald-200",
  error: "border-rose-700 bg-rose-950 text-rose-200",
};

/** An inline message; `role="alert"` for errors so screen readers announce them. */
export function Notice({
  tone = "info",
  children,
  className,
}: {
  tone?: NoticeTone;
  children: ReactNode;
  className?: string;
}) {
  return (
    <div
      role={tone === "error" ? "alert" : "status"}
      className={cn("rounded-md border px-3 py-2 text-sm", TONES[tone], className)}
    >
      {children}
    </div>
  );
}
