// `pnpm likewise round <run|list|export>`: alignment rounds from the terminal, on the installation's database.
// `run` creates a round (or resumes --round) and runs it in this process with a progress bar, the same state machine
// the worker runs; Ctrl-C stops after the current step and leaves the round resumable.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";

import { createDb, createRound, getRound, listRounds, runMigrations } from "@likewise/db";
import { resolveDatabase } from "@likewise/db/embedded";
import { LocalArtifactStore, LocalBlobStore } from "@likewise/serving";

import { env } from "../env.ts";
import { createLogger } from "../log.ts";
import { parseRoundConfig, RoundConfigError } from "../rounds/config.ts";
import { exportRoundDataset } from "../rounds/export.ts";
import { runRound } from "../rounds/runner.ts";
import { intOption, parseOptions } from "./args.ts";
import { CliError, usageError } from "./errors.ts";
import { ProgressBar } from "./progress.ts";

const USAGE = `Usage:
  pnpm likewise round run [--config <file.json>] [--parent <model version id>] [--round <id>] [--threads <n>]
        create a round (parent: production by default) and run it here; --round resumes an existing one
  pnpm likewise round list                      recent rounds
  pnpm likewise round export --round <id> --out <dir>
        the round's frozen manifest as <dir>/labels.jsonl + <dir>/images/ (format: docs/dataset-export.md)`;

export async function run(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (!sub || sub === "--help" || sub === "-h") {
    console.log(USAGE);
    if (!sub) throw usageError("a subcommand is required");
    return;
  }
  const o = parseOptions(rest, {
    config: { type: "string" },
    parent: { type: "string" },
    round: { type: "string" },
    out: { type: "string" },
    threads: { type: "string" },
  });
  let configJson: unknown = {};
  if (o.config) {
    try {
      configJson = JSON.parse(await readFile(resolve(o.config), "utf8"));
      parseRoundConfig(configJson);
    } catch (e) {
      throw new CliError(
        `--config ${o.config}: ${e instanceof RoundConfigError || e instanceof Error ? e.message : String(e)}`,
        2,
      );
    }
  }
  const database = await resolveDatabase({ databaseUrl: env.databaseUrl, home: env.home });
  const handle = createDb(database.url, { max: 3, applicationName: "likewise-cli-round" });
  try {
    await runMigrations(database.url);
    const { db } = handle;
    const blobs = LocalBlobStore.atHome(env.home);
    switch (sub) {
      case "list": {
        for (const r of await listRounds(db, { limit: 20 })) {
          console.log(
            `${r.id}  ${r.status.padEnd(10)} parent ${r.parentModelVersionId}  labels ${r.labelCountDesirable}+/${r.labelCountUndesirable}−  ${r.createdAt.toISOString()}${r.error ? `  ${r.error}` : ""}`,
          );
        }
        return;
      }
      case "export": {
        if (!o.round || !o.out) throw usageError("export needs --round <id> and --out <dir>");
        const n = await exportRoundDataset({ db, blobs }, o.round, resolve(o.out));
        console.log(`wrote ${n} labels to ${resolve(o.out, "labels.jsonl")}`);
        return;
      }
      case "run": {
        const round = o.round
          ? await getRound(db, o.round)
          : await createRound(db, {
              trigger: "manual",
              objectiveConfig: parseRoundConfig(configJson),
              ...(o.parent ? { parentModelVersionId: o.parent } : {}),
            });
        console.error(`round ${round.id} (parent ${round.parentModelVersionId})`);
        const controller = new AbortController();
        const onSignal = () => {
          console.error(
            "\nstopping after the current step (the round resumes with: pnpm likewise round run --round " +
              round.id +
              ")",
          );
          controller.abort();
        };
        process.once("SIGINT", onSignal);
        process.once("SIGTERM", onSignal);
        let bar: ProgressBar | undefined;
        let phase = "";
        const log = createLogger({ svc: "round-cli" }, env.logLevel === "debug" ? "debug" : "warn");
        try {
          const ended = await runRound(
            {
              db,
              blobs,
              store: LocalArtifactStore.atHome(env.home),
              home: env.home,
              log,
              workerId: `cli-${process.pid}`,
              servingThreads: intOption(o.threads, "threads", env.servingThreads, 1, 64),
            },
            round.id,
            {
              signal: controller.signal,
              onProgress: (p) => {
                if (p.phase !== phase) {
                  bar?.finish();
                  bar = undefined;
                  phase = p.phase;
                  if (p.totalSteps === undefined) console.error(`→ ${p.phase}`);
                }
                if (p.totalSteps !== undefined) {
                  bar ??= new ProgressBar({
                    label: p.phase,
                    total: p.totalSteps,
                    unit: p.phase === "training" ? "step" : "img",
                    initial: p.step ?? 0,
                  });
                  bar.update(p.step ?? 0, p.loss !== undefined ? `loss ${p.loss.toFixed(4)}` : "");
                }
              },
            },
          );
          bar?.finish();
          const gate = ended.metrics.gate as
            { parent?: { likeRate: number }; candidate?: { likeRate: number } } | undefined;
          console.log(
            `round ${ended.id}: ${ended.status}${ended.candidateModelVersionId ? ` → ${ended.candidateModelVersionId}` : ""}${gate?.parent && gate.candidate ? ` (like rate ${(100 * gate.parent.likeRate).toFixed(1)}% → ${(100 * gate.candidate.likeRate).toFixed(1)}%)` : ""}${ended.error ? `: ${ended.error}` : ""}`,
          );
          if (ended.status === "failed") throw new CliError(ended.error ?? "round failed");
          if (!["published", "rejected"].includes(ended.status))
            throw new CliError(`round is ${ended.status}; run again with --round ${ended.id} to continue`);
        } finally {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
        }
        return;
      }
      default:
        throw usageError(`unknown subcommand "${sub}"\n${USAGE}`);
    }
  } finally {
    await handle.close();
    await database.release();
  }
}
