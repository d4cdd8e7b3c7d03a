// `pnpm bench <name> [args…]` runs bench/<name>.ts, whose default export is `(argv: string[]) => Promise<unknown>`.
// Each benchmark writes its JSON to bench/results/<name>.json (see ./lib/results.ts) and its line in BENCHMARKS.md.
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith(".ts") && f !== "cli.ts" && !f.endsWith(".test.ts"))
  .map((f) => f.slice(0, -3))
  .sort();

const [name, ...argv] = process.argv.slice(2);
if (!name || name === "--help" || !available.includes(name)) {
  if (name && name !== "--help") console.error(`Unknown benchmark "${name}".`);
  console.error(`Usage: pnpm bench <name> [args…]\nBenchmarks: ${available.join(", ") || "(none yet)"}`);
  process.exit(name === "--help" ? 0 : 2);
}
const mod = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as {
  default: (argv: string[]) => Promise<unknown>;
};
await mod.default(argv);
