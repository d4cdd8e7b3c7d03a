// First-start seed of an installation: the admin account (password generated and printed once). Idempotent.
import { randomBytes } from "node:crypto";

import { createUser, findUserByEmail, hashPassword, type Db } from "@likewise/db";

export const ADMIN_EMAIL = "admin@likewise.local";

export async function seedInstallation(db: Db, opts: { home: string; log: (msg: string) => void }): Promise<void> {
  if (!(await findUserByEmail(db, ADMIN_EMAIL))) {
    const password = randomBytes(12).toString("base64url");
    await createUser(db, {
      email: ADMIN_EMAIL,
      name: "Administrator",
      role: "admin",
      passwordHash: await hashPassword(password),
      trainingConsent: false,
    });
    opts.log("─".repeat(64));
    opts.log(`admin account created: ${ADMIN_EMAIL}`);
    opts.log(`password (shown only now; keep it): ${password}`);
    opts.log("─".repeat(64));
  }
}
