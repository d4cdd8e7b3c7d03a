import { parseOptions } from "./args.ts";

export async function run(argv: string[]): Promise<void> {
  parseOptions(argv, {});
  await import("../main.ts");
  // main.ts keeps the process alive until SIGINT/SIGTERM.
  await new Promise<never>(() => {});
}
