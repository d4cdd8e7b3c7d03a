import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Connection URL of the embedded server under `<home>/postgres`, from the credentials written when it was
 * created. Throws a plain explanation when it was never created; reachability is the caller's concern.
 */
export function embeddedConnectionUrl(home: string, database = "likewise"): string {
  const file = join(home, "postgres", "credentials.json");
  if (!existsSync(file)) {
    throw new Error(
      `no DATABASE_URL and no embedded database at ${join(home, "postgres")}: run \`pnpm start\` first`,
    );
  }
  // safe because credentials.json is written only by startEmbeddedPostgres with exactly these fields
  const cred = JSON.parse(readFileSync(file, "utf8")) as { user: string; password: string; port: number };
  return `postgres://${cred.user}:${encodeURIComponent(cred.password)}@127.0.0.1:${cred.port}/${database}`;
}
