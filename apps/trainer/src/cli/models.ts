// `pnpm likewise models <list|register|promote|rollback|hosts>`: the model registry from the command line, on the
// installation's database (DATABASE_URL, else the embedded server under LIKEWISE_HOME).
import { realpath, rm } from "node:fs/promises";
import { resolve } from "node:path";

import {
  createDb,
  type Db,
  DbError,
  findProductionModelVersion,
  getModelVersion,
  listProductionAliasHistory,
  listServingHosts,
  NotFoundError,
  rollbackProduction,
  runMigrations,
} from "@likewise/db";
import { resolveDatabase } from "@likewise/db/embedded";
import { isServingError, LocalArtifactStore } from "@likewise/serving";

import { ArtifactFolderError, checkModelVersionFolder, versionIdProblem } from "../artifact.ts";
import { env } from "../env.ts";
import { promoteModelVersion, registerModelVersion, RegistrationError } from "../registry.ts";
import { parseOptions } from "./args.ts";
import { CliError, usageError } from "./errors.ts";

const USAGE = `Usage:
  pnpm likewise models list                                   production and its recent moves
  pnpm likewise models register --dir <folder> [--id <id>] [--promote] [--reason <text>]
  pnpm likewise models promote --id <id> [--reason <text>]
  pnpm likewise models rollback [--reason <text>]
  pnpm likewise models hosts                                  serving hosts seen in the last minute`;

export async function run(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (!sub || sub === "--help" || sub === "-h") {
    console.log(USAGE);
    if (!sub) throw usageError("a subcommand is required");
    return;
  }
  const o = parseOptions(rest, {
    dir: { type: "string" },
    id: { type: "string" },
    promote: { type: "boolean" },
    reason: { type: "string" },
  });
  // The folder offered for registration is checked before the database is touched.
  const offered = sub === "register" ? await checkOffered(o.dir, o.id) : undefined;
  const database = await resolveDatabase({ databaseUrl: env.databaseUrl, home: env.home });
  const handle = createDb(database.url, { max: 2, applicationName: "likewise-cli" });
  try {
    await runMigrations(database.url);
    const { db } = handle;
    const reason = o.reason ?? null;
    switch (sub) {
      case "list": {
        const prod = await findProductionModelVersion(db);
        console.log(
          `production: ${prod ? `${prod.id} (${prod.family}, sha256 ${prod.sha256.slice(0, 12)}…)` : "none"}`,
        );
        for (const e of await listProductionAliasHistory(db, { limit: 20 }))
          console.log(
            `  ${e.at.toISOString()}  ${e.kind.padEnd(8)} ${e.fromModelVersionId ?? "—"} → ${e.toModelVersionId}${e.reason ? `  (${e.reason})` : ""}`,
          );
        return;
      }
      case "register": {
        if (!offered) throw usageError("register needs --dir <version folder>");
        const { dir, id } = offered;
        const store = LocalArtifactStore.atHome(env.home);
        const existing = await findVersion(db, id);
        if (existing)
          throw new CliError(
            `model version ${id} already exists (${existing.status}); register this folder under another --id`,
          );
        if (await store.has(id))
          throw new CliError(
            `the artifact store already holds ${store.dirOf(id)}, which no model version records (left by an interrupted registration?): remove it or use another --id`,
          );
        let registered;
        try {
          registered = await registerModelVersion(db, store, { sourceDir: dir, id });
        } catch (e) {
          // Nothing half-published: a copy in the store that the database did not record is removed again.
          if ((await store.has(id)) && !(await findVersion(db, id)))
            await rm(store.dirOf(id), { recursive: true, force: true });
          if (e instanceof RegistrationError) throw new CliError(e.message);
          if (e instanceof DbError || isServingError(e))
            throw new CliError(`model version ${id} not registered: ${e.message}`);
          throw e;
        }
        const { version, report } = registered;
        console.log(
          `registered ${version.id} (load ${report.loadMs.toFixed(0)} ms, max |ε| on the check input ${report.output.maxAbs.toFixed(3)})`,
        );
        if (o.promote) {
          try {
            await promoteModelVersion(db, { modelVersionId: version.id, reason });
          } catch (e) {
            if (!(e instanceof DbError)) throw e;
            throw new CliError(`registered ${version.id}, but promoting it failed: ${e.message}`);
          }
          console.log(`production → ${version.id}`);
        }
        return;
      }
      case "promote": {
        if (!o.id) throw usageError("promote needs --id <version id>");
        const move = await promoteModelVersion(db, { modelVersionId: o.id, reason });
        console.log(
          move.changed
            ? `production: ${move.previousModelVersionId ?? "none"} → ${move.modelVersionId}`
            : `production already is ${move.modelVersionId}`,
        );
        return;
      }
      case "rollback": {
        const move = await rollbackProduction(db, { reason });
        console.log(
          `production rolled back: ${move.previousModelVersionId ?? "none"} → ${move.modelVersionId}`,
        );
        return;
      }
      case "hosts": {
        for (const h of await listServingHosts(db))
          console.log(
            `${h.id.padEnd(24)} ${h.kind.padEnd(8)} production ${h.productionVersionId ?? "—"}  ${h.isConverged ? "converged" : "NOT converged"}  seen ${h.heartbeatAt.toISOString()}`,
          );
        return;
      }
      default:
        throw usageError(`unknown subcommand "${sub}"\n\n${USAGE}`);
    }
  } finally {
    await handle.close();
    await database.release();
  }
}

/** The version folder and id to register, checked before anything is touched (usage errors exit 2, bad folders 1). */
async function checkOffered(
  dirArg: string | undefined,
  idArg: string | undefined,
): Promise<{ dir: string; id: string } | undefined> {
  if (!dirArg) return undefined;
  if (idArg !== undefined) {
    const problem = versionIdProblem(idArg);
    if (problem) throw usageError(`--id ${JSON.stringify(idArg)}: ${problem}`);
  }
  // A link to a version folder is fine: its target is what gets checked and copied.
  const dir = await realpath(resolve(dirArg)).catch(() => resolve(dirArg));
  let manifest: Record<string, unknown>;
  try {
    ({ manifest } = await checkModelVersionFolder(dir));
  } catch (e) {
    if (e instanceof ArtifactFolderError) throw new CliError(`model version refused: ${e.message}`);
    throw e;
  }
  if (idArg !== undefined) return { dir, id: idArg };
  const id = manifest.id;
  if (typeof id !== "string" || versionIdProblem(id))
    throw new CliError(
      `model version refused: the manifest's id ${JSON.stringify(id)} cannot name a version (${versionIdProblem(String(id))}); pass --id`,
    );
  return { dir, id };
}

async function findVersion(db: Db, id: string) {
  try {
    return await getModelVersion(db, id);
  } catch (e) {
    if (e instanceof NotFoundError) return null;
    throw e;
  }
}
