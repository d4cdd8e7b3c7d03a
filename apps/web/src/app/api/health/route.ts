import { getDatabaseStatus } from "@likewise/db";

import { getDb } from "~/server/db";

export const dynamic = "force-dynamic";

/** Liveness + database reachability; 503 (not 500) when the database is unreachable. */
export async function GET() {
  try {
    const { db } = getDb();
    const status = await getDatabaseStatus(db);
    return Response.json({ ok: true, database: status });
  } catch (e) {
    return Response.json(
      {
        ok: false,
        error: "database unavailable",
        detail: e instanceof Error ? e.message.split("\n")[0] : "unknown",
      },
      { status: 503, headers: { "retry-after": "5" } },
    );
  }
}
