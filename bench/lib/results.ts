import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { arch, cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "results");

/** Median of a non-empty sample. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error("median of an empty sample");
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** The widest x86 vector extension the CPU reports (ONNX Runtime's and XNNPACK's kernels pick theirs by it). */
export function cpuVectorIsa(): string {
  let flags = "";
  try {
    flags = /^flags\s*:(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "";
  } catch {
    return "unknown";
  }
  const has = (f: string) => new RegExp(`\\b${f}\\b`).test(flags);
  if (has("amx_tile")) return "AVX-512 + AMX";
  if (has("avx512f")) return "AVX-512";
  if (has("avx2")) return "AVX2";
  return has("sse4_2") ? "SSE4.2" : "unknown";
}

export function machineInfo() {
  const c = cpus();
  return {
    node: process.version,
    arch: arch(),
    cpus: c.length,
    cpuModel: c[0]?.model ?? "unknown",
    vectorIsa: cpuVectorIsa(),
    totalMemGb: Math.round(totalmem() / 2 ** 30),
  };
}

/** "AMD EPYC (AVX-512), 2 cores": the host a figure was measured on (the same kind of machine varies). */
export function hostLine(): string {
  const m = machineInfo();
  return `${m.cpuModel} (${m.vectorIsa}), ${m.cpus} cores`;
}

/** Writes <dir, default bench/results>/<name>.json with the machine and a timestamp; returns the path. */
export function writeResult(name: string, result: Record<string, unknown>, dir = RESULTS_DIR): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  writeFileSync(
    path,
    JSON.stringify({ name, at: new Date().toISOString(), machine: machineInfo(), ...result }, null, 2) + "\n",
  );
  return path;
}
