import { getDatabaseStatus } from "@likewise/db";

import { getDb } from "~/server/db";

export const dynamic = "force-dynamic";

export default async function Home() {
  let status: string;
  try {
    const { db } = getDb();
    const s = await getDatabaseStatus(db);
    status = `PostgreSQL ${s.serverVersion} · database ${s.database} · ${s.migrationsApplied} migrations applied`;
  } catch {
    status = "database unavailable — is `pnpm start` running?";
  }
  return (
    <main style={{ maxWidth: 720, margin: "10vh auto", padding: 24 }}>
      <h1 style={{ fontSize: 40, marginBottom: 8 }}>Likewise</h1>
      <p style={{ opacity: 0.8 }}>Rate generated images with a like or a dislike; every vote aligns the model.</p>
      <p data-testid="db-status" style={{ fontSize: 14, opacity: 0.7 }}>
        {status}
      </p>
    </main>
  );
}
