// Rewrites one `<!-- bench:NAME:start -->…<!-- bench:NAME:end -->` section of BENCHMARKS.md, keeping a hand-written
// `<!-- NAME:notes:start -->…<!-- NAME:notes:end -->` block inside it (findings survive a re-run); appends the
// section when the file has none.
import { existsSync, readFileSync, writeFileSync } from "node:fs";

export function replaceSection(text: string, name: string, generated: string): string {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const notesStart = `<!-- ${name}:notes:start -->`;
  const notesEnd = `<!-- ${name}:notes:end -->`;
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  const hasSection = a >= 0 && b > a;
  const old = hasSection ? text.slice(a, b) : "";
  const na = old.indexOf(notesStart);
  const nb = old.indexOf(notesEnd);
  const notes = na >= 0 && nb > na ? old.slice(na, nb + notesEnd.length) : `${notesStart}\n${notesEnd}`;
  const section = `${start}\n${generated.trim()}\n\n${notes}\n${end}`;
  if (!hasSection) return `${text.trimEnd()}\n\n${section}\n`;
  return text.slice(0, a) + section + text.slice(b + end.length);
}

export function updateBenchmarksFile(file: string, name: string, generated: string): void {
  const text = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
  writeFileSync(file, replaceSection(text, name, generated));
}
