import { parseArgs, type ParseArgsConfig } from "node:util";

import { usageError } from "./errors.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** parseArgs with strict checking; unknown or malformed options become a usage error naming the option. */
export function parseOptions<const O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw usageError(
      e instanceof Error ? e.message.replace(/\. To specify a positional argument.*$/s, ".") : String(e),
    );
  }
}

/** Number(value), except that a blank value is NaN rather than 0 (so `--eta ""` is refused, not read as 0). */
function numberOf(value: string): number {
  return value.trim() === "" ? Number.NaN : Number(value);
}

/** An integer option within [min, max]; `fallback` when absent. */
export function intOption(
  value: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = numberOf(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw usageError(`--${name} must be an integer in ${min}..${max} (got "${value}")`);
  return n;
}

/** A finite number option within [min, max]; `fallback` when absent. */
export function numberOption(
  value: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = numberOf(value);
  if (!Number.isFinite(n) || n < min || n > max)
    throw usageError(`--${name} must be a number in ${min}..${max} (got "${value}")`);
  return n;
}

export function choiceOption<const C extends readonly string[]>(
  value: string | undefined,
  name: string,
  choices: C,
  fallback: C[number],
): C[number] {
  if (value === undefined) return fallback;
  if (!choices.includes(value))
    throw usageError(`--${name} must be one of ${choices.join(", ")} (got "${value}")`);
  return value;
}
