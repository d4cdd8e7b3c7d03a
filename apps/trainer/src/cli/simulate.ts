// `pnpm likewise simulate --raters <preset|file> --votes N`: simulated users rate the production model's feed
// (see ../simulate.ts), so a demo or a benchmark produces feedback through the same verbs the web uses.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";

import { createDb, runMigrations } from "@likewise/db";
import { resolveDatabase } from "@likewise/db/embedded";
import { LocalBlobStore } from "@likewise/serving";
import { getRaterPreset, parseRaterSpec, RATER_PRESET_NAMES } from "@likewise/synth";

import { env } from "../env.ts";
import { simulateVotes, simulateVotesHttp } from "../simulate.ts";
import { intOption, parseOptions } from "./args.ts";
import { CliError } from "./errors.ts";
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
  const raterArg = o.raters ?? "default";
  let rater;
  try {
    rater = (RATER_PRESET_NAMES as readonly string[]).includes(raterArg) ? getRaterPreset(raterArg) : parseRaterSpec(await readFile(resolve(raterArg), "utf8"));
  } catch (e) {
    throw new CliError(`--raters ${raterArg}: ${e instanceof Error ? e.message : String(e)}`, 2);
  }
  const votes = intOption(o.votes, "votes", 200, 1, 1_000_000);
  const users = o.users === undefined ? undefined : intOption(o.users, "users", 1, 1, 100_000);
  const seed = intOption(o.seed, "seed", 1, 0, 2 ** 31 - 1);
  if (o.url && !/^https?:\/\/[^/]+/.test(o.url)) throw new CliError(`--url ${o.url}: expected an http(s) origin such as http://localhost:3000`, 2);
  const database = await resolveDatabase({ databaseUrl: env.databaseUrl, home: env.home });
  const handle = createDb(database.url, { max: 2, applicationName: "likewise-cli-simulate" });
  try {
    await runMigrations(database.url);
    const bar = new ProgressBar({ label: "simulate", total: votes, unit: "vote" });
    const common = { rater, votes, seed, ...(users ? { users } : {}), onProgress: (d: number) => bar.update(d) };
    const r = o.url
      ? await simulateVotesHttp({ db: handle.db }, { ...common, baseUrl: o.url })
      : await simulateVotes({ db: handle.db, blobs: LocalBlobStore.atHome(env.home) }, { ...common, ...(o.model ? { modelVersionId: o.model } : {}) });
    bar.finish();
    console.log(`${r.votes} votes by ${r.users} simulated users (preset "${rater.name}"): ${r.likes} likes (${((100 * r.likes) / Math.max(1, r.votes)).toFixed(1)}%)`);
    if (r.votes < votes) throw new CliError(`only ${r.votes} of ${votes} votes: every simulated user ran out of unrated images (${r.exhaustedUsers} users); add users or let the pool grow`);
  } finally {
    await handle.close();
    await database.release();
  }
}
