// Several serving processes (tests/helpers/serving-process.ts) under continuous client load, for the hot-swap
// acceptance test and `pnpm bench hot-swap`: start them, wait until every one routes a given version, stop them and
// collect what they reported.
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import type { ServingProcessConfig, ServingProcessLine } from "./serving-process.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SCRIPT = join(ROOT, "tests", "helpers", "serving-process.ts");

export type FleetOptions = Omit<ServingProcessConfig, "hostId"> & { hosts: number; hostPrefix: string };

export type Fleet = {
  hostIds: string[];
  lines: ServingProcessLine[];
  /** stderr of every host (diagnostics when something fails). */
  stderr: () => string;
  /**
   * Waits until every host has routed production to `version` in a line after `fromLine` → each host's routing time
   * (epoch ms). Rejects after `timeoutMs`.
   */
  waitAllRouted: (version: string, fromLine: number, timeoutMs?: number) => Promise<number[]>;
  /** SIGTERM to every host → their final stats. */
  stop: () => Promise<Extract<ServingProcessLine, { type: "stats" }>[]>;
};

export function startFleet(options: FleetOptions): Fleet {
  const lines: ServingProcessLine[] = [];
  let err = "";
  const children: ChildProcess[] = [];
  const hostIds = Array.from({ length: options.hosts }, (_, i) => `${options.hostPrefix}-${i + 1}`);
  for (const hostId of hostIds) {
    const { hosts: _h, hostPrefix: _p, ...rest } = options;
    const config: ServingProcessConfig = { ...rest, hostId };
    const child = spawn(process.execPath, ["--import", "tsx", SCRIPT, JSON.stringify(config)], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let buf = "";
    child.stdout?.on("data", (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split("\n");
      buf = parts.pop() ?? "";
      // safe because serving-process.ts writes exactly one ServingProcessLine JSON object per line
      for (const p of parts) if (p.trim()) lines.push(JSON.parse(p) as ServingProcessLine);
    });
    child.stderr?.on("data", (d: Buffer) => (err += `[${hostId}] ${d.toString()}`));
    children.push(child);
  }

  const waitAllRouted = async (version: string, fromLine: number, timeoutMs = 30_000): Promise<number[]> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const at = new Map<string, number>();
      for (const l of lines.slice(fromLine))
        if (l.type === "routed" && l.version === version && !at.has(l.hostId)) at.set(l.hostId, l.at);
      if (at.size === hostIds.length) return hostIds.map((h) => at.get(h) ?? 0);
      const dead = children.find((c) => c.exitCode !== null);
      if (dead) throw new Error(`a serving process exited (${dead.exitCode}):\n${err}`);
      if (Date.now() > until)
        throw new Error(
          `not every host routed ${version} within ${timeoutMs} ms (${[...at.keys()].join(", ")}):\n${err}`,
        );
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const stop = async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((res) => {
            if (c.exitCode !== null) return res();
            c.once("exit", () => res());
            c.kill("SIGTERM");
          }),
      ),
    );
    return lines.filter((l): l is Extract<ServingProcessLine, { type: "stats" }> => l.type === "stats");
  };
  return { hostIds, lines, stderr: () => err, waitAllRouted, stop };
}
