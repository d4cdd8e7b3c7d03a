import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import postgres from "postgres";
import { afterAll, describe, expect, inject, it } from "vitest";

import { MIGRATIONS_DIR, runMigrations } from "./migrate.ts";

// A database of our own on the test server, so "empty" really is empty.
const serverUrl = inject("databaseUrl");
const name = `likewise_migrate_${randomBytes(4).toString("hex")}`;
const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
const url = (() => {
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return u.toString();
})();

afterAll(async () => {
  await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.end({ timeout: 5 });
});

const journal = JSON.parse(readFileSync(join(MIGRATIONS_DIR, "meta", "_journal.json"), "utf8")) as {
  entries: unknown[];
};

/** Everything a migration can change, as one comparable string. */
async function fingerprint(sql: postgres.Sql): Promise<string> {
  const cols = await sql`select table_name, column_name, data_type, is_nullable, column_default
    from information_schema.columns where table_schema = 'public' order by 1, 2`;
  const cons = await sql`select conrelid::regclass::text as t, conname, pg_get_constraintdef(oid) as def
    from pg_constraint where connamespace = 'public'::regnamespace order by 1, 2`;
  const idx =
    await sql`select tablename, indexname, indexdef from pg_indexes where schemaname = 'public' order by 1, 2`;
  const types = await sql`select t.typname, array_agg(e.enumlabel order by e.enumsortorder) as labels
    from pg_type t join pg_enum e on e.enumtypid = t.oid group by 1 order by 1`;
  return JSON.stringify({ cols, cons, idx, types });
}

describe("migrations", () => {
  it("apply to an empty database, and re-running them (also concurrently) is a no-op", async () => {
    await admin.unsafe(`create database "${name}"`);
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const [before] =
        await sql`select count(*)::int as n from information_schema.tables where table_schema = 'public'`;
      expect(before?.n).toBe(0);

      await runMigrations(url);
      const tables = (
        await sql`select table_name from information_schema.tables where table_schema = 'public' order by 1`
      ).map((r) => String(r.table_name));
      expect(tables).toEqual([
        "account",
        "alignment_round",
        "api_key",
        "assignment",
        "experiment",
        "experiment_event",
        "exposure",
        "feedback_event",
        "generation_request",
        "image",
        "model_alias",
        "model_alias_event",
        "model_version",
        "prompt",
        "round_label",
        "schedule",
        "serving_host",
        "session",
        "user",
        "variant",
        "verification_token",
        "vote",
        "vote_request",
      ]);
      const applied = await sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
      expect(applied[0]?.n).toBe(journal.entries.length);
      const first = await fingerprint(sql);

      await runMigrations(url);
      await Promise.all([runMigrations(url), runMigrations(url)]);
      expect((await sql`select count(*)::int as n from drizzle.__drizzle_migrations`)[0]?.n).toBe(
        journal.entries.length,
      );
      expect(await fingerprint(sql)).toBe(first);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
});
