// `pnpm likewise simulate --raters <preset|file> --votes N`: simulated users rate the production model's feed
// (see ../simulate.ts), so a demo or a benchmark produces feedback through the same verbs the web uses.
import { readFile, stat } from "node:fs/promises";
import { resolve } from "node:path";

import { createDb, runMigrations } from "@likewise/db";
import { resolveDatabase } from "@likewise/db/embedded";
import { LocalBlobStore } from "@likewise/serving";
import {
  getRaterPreset,
  parseRaterSpec,
  RATER_PRESET_NAMES,
  type RaterSpec,
  SynthError,
} from "@likewise/synth";

import { env } from "../env.ts";
import { simulateVotes, simulateVotesHttp } from "../simulate.ts";
import { intOption, parseOptions } from "./args.ts";
import { CliError, usageError } from "./errors.ts";
import { ProgressBar } from "./progress.ts";

const HELP = `Usage: pnpm likewise simulate [options]

  --raters <preset|file>  rater preset (${RATER_PRESET_NAMES.join(", ")}) or a JSON spec file (default: default)
  --votes <n>             votes to cast (default 200)
  --users <n>             simulated users (default ⌈votes/40⌉); they sign up with training consent
  --seed <n>              persona and vote seed (default 1); the same seed reuses the same users
  --model <id>            whose feed to rate (default: production; database path only)
  --url <origin>          vote through the web's public API (docs/api.md) at this origin, e.g.
                          http://localhost:3000: each simulated user gets an API key and uses /api/v1

Without --url, votes go through the database verbs of the web's feed and vote paths. The feed must hold enough unrated images
(the trainer worker's pool keeps POOL_TARGET per prompt).`;

export async function run(argv: string[]): Promise<void> {
  const o = parseOptions(argv, {
    raters: { type: "string" },
    votes: { type: "string" },
    users: { type: "string" },
    seed: { type: "string" },
    model: { type: "string" },
    url: { type: "string" },
    help: { type: "boolean" },
  });
  if (o.help) return void console.log(HELP);
  const rater = await readRaterSpec(o.raters ?? "default");
  const votes = intOption(o.votes, "votes", 200, 1, 1_000_000);
  const users = o.users === undefined ? undefined : intOption(o.users, "users", 1, 1, 100_000);
  const seed = intOption(o.seed, "seed", 1, 0, 2 ** 31 - 1);
  if (o.url && !/^https?:\/\/[^/]+/.test(o.url))
    throw new CliError(`--url ${o.url}: expected an http(s) origin such as http://localhost:3000`, 2);
  const database = await resolveDatabase({ databaseUrl: env.databaseUrl, home: env.home });
  const handle = createDb(database.url, { max: 2, applicationName: "likewise-cli-simulate" });
  try {
    await runMigrations(database.url);
    const bar = new ProgressBar({ label: "simulate", total: votes, unit: "vote" });
    const common = {
      rater,
      votes,
      seed,
      ...(users ? { users } : {}),
      onProgress: (d: number) => bar.update(d),
    };
    const r = o.url
      ? await simulateVotesHttp({ db: handle.db }, { ...common, baseUrl: o.url })
      : await simulateVotes(
          { db: handle.db, blobs: LocalBlobStore.atHome(env.home) },
          { ...common, ...(o.model ? { modelVersionId: o.model } : {}) },
        );
    bar.finish();
    console.log(
      `${r.votes} votes by ${r.users} simulated users (preset "${rater.name}"): ${r.likes} likes (${((100 * r.likes) / Math.max(1, r.votes)).toFixed(1)}%)`,
    );
    if (r.votes < votes)
      throw new CliError(
        `only ${r.votes} of ${votes} votes: every simulated user ran out of unrated images (${r.exhaustedUsers} users); add users or let the pool grow`,
      );
  } finally {
    await handle.close();
    await database.release();
  }
}

/** A spec file is a few kB; anything past this is not one (and would only slow validation down). */
export const MAX_RATER_SPEC_BYTES = 1024 * 1024;
const MAX_ISSUES_SHOWN = 10;

/**
 * `--raters`: a preset name, or a JSON rater spec file (UTF-8 text, a BOM is skipped, at most 1 MiB). Every
 * refusal is a usage error naming the argument: no such preset or file, not a regular file, too large, binary,
 * not UTF-8, not JSON (empty or cut short), or the spec's own issues by field (the first ten).
 */
export async function readRaterSpec(arg: string): Promise<RaterSpec> {
  if ((RATER_PRESET_NAMES as readonly string[]).includes(arg)) return getRaterPreset(arg);
  const refuse = (why: string) => usageError(`--raters ${arg}: ${why}`);
  const st = await stat(resolve(arg)).catch(() => null);
  if (!st) throw refuse(`neither a preset (${RATER_PRESET_NAMES.join(", ")}) nor a file`);
  if (!st.isFile()) throw refuse("not a regular file (a rater spec is a JSON file)");
  if (st.size > MAX_RATER_SPEC_BYTES)
    throw refuse(`${st.size} bytes; a rater spec file is at most ${MAX_RATER_SPEC_BYTES}`);
  const bytes = await readFile(resolve(arg));
  if (bytes.includes(0)) throw refuse("binary (it contains NUL bytes), not a JSON text file");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw refuse("not UTF-8 text");
  }
  if (text.trim() === "") throw refuse("the file is empty");
  try {
    return parseRaterSpec(text);
  } catch (e) {
    if (!(e instanceof SynthError)) throw e;
    const { issues } = e;
    const shown = issues.slice(0, MAX_ISSUES_SHOWN).join("; ");
    const more = issues.length > MAX_ISSUES_SHOWN ? ` … and ${issues.length - MAX_ISSUES_SHOWN} more` : "";
    const cut = issues.length === 1 && looksCutShort(text, shown) ? " (cut short?)" : "";
    const prefix = e.message.startsWith("invalid rater spec") ? "invalid rater spec: " : "";
    throw refuse(`${prefix}${shown}${more}${cut}`);
  }
}

/** Whether a JSON.parse complaint is about the end of the text (a file cut short); as in ../artifact.ts. */
function looksCutShort(text: string, parseError: string): boolean {
  if (/end of (JSON )?input/i.test(parseError)) return true;
  const at = /at position (\d+)/.exec(parseError)?.[1];
  return at !== undefined && Number(at) >= text.trimEnd().length;
}
