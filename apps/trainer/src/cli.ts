// `pnpm likewise <command>`: the trainer's command line. Each command lives in ./cli/<name>.ts and exports
// `run(argv)`; failures print one clear message and exit non-zero (2 = usage, 1 = the work failed).
import { pathToFileURL } from "node:url";

import { COMMANDS } from "./cli/commands.ts";
import { CliError } from "./cli/errors.ts";

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length), 4);
  return [
    "Usage: pnpm likewise <command> [options]   (pnpm likewise <command> --help for its options)",
    "",
    "Commands:",
    ...Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`),
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`Unknown command "${name}".\n\n${usage()}`);
    return 2;
  }
  try {
    await (await command.load()).run(rest);
    return 0;
  } catch (e) {
    if (e instanceof CliError) {
      console.error(`likewise ${name}: ${e.message}`);
      return e.exitCode;
    }
    console.error(`likewise ${name} failed: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.exitCode = await main(process.argv.slice(2));
}
