/** Joins class names, skipping falsy parts: `cn("a", cond && "b", undefined)` → "a b" or "a". */
export function cn(...parts: readonly (string | false | null | undefined | 0)[]): string {
  return parts.filter((p): p is string => typeof p === "string" && p.length > 0).join(" ");
}
