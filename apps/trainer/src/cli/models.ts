// `pnpm likewise models <list|register|promote|rollback|hosts>`: the model registry from the command line, on the
// installation's database (DATABASE_URL, else the embedded server under LIKEWISE_HOME).
import { resolve } from "node:path";

import {
  createDb,
  findProductionModelVersion,
  listProductionAliasHistory,
  listServingHosts,
  rollbackProduction,
  runMigrations,
} from "@likewise/db";
import { resolveDatabase } from "@likewise/db/embedded";
import { LocalArtifactStore } from "@likewise/serving";

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
        if (!o.dir) throw usageError("register needs --dir <version folder>");
        try {
          const { version, report } = await registerModelVersion(db, LocalArtifactStore.atHome(env.home), {
            sourceDir: resolve(o.dir),
            id: o.id,
          });
          console.log(
            `registered ${version.id} (load ${report.loadMs.toFixed(0)} ms, max |ε| on the check input ${report.output.maxAbs.toFixed(3)})`,
          );
          if (o.promote) {
            await promoteModelVersion(db, { modelVersionId: version.id, reason });
            console.log(`production → ${version.id}`);
          }
        } catch (e) {
          if (e instanceof RegistrationError) throw new CliError(e.message);
          throw e;
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
