import { eq, getTableColumns, sql } from "drizzle-orm";
import type { PgUpdateSetSource } from "drizzle-orm/pg-core";

import type { DbOrTx } from "../client.ts";
import type { UserRole } from "../enums.ts";
import { NotFoundError, withDbErrors } from "../errors.ts";
import { user } from "../schema/auth.ts";
import { mustExist } from "./util.ts";

const { passwordHash: _passwordHash, ...publicColumns } = getTableColumns(user);

/** A user as the application sees it; the password hash is only read by findUserCredentialsByEmail. */
export type User = Omit<typeof user.$inferSelect, "passwordHash">;

export type CreateUserInput = {
  email: string;
  name?: string | null;
  passwordHash?: string | null;
  role?: UserRole;
  trainingConsent?: boolean;
};

/** Creates a user; the email is trimmed and lower-cased. CONFLICT when the email is taken (any case). */
export async function createUser(db: DbOrTx, input: CreateUserInput): Promise<User> {
  return withDbErrors(async () => {
    const consent = input.trainingConsent ?? false;
    const [row] = await db
      .insert(user)
      .values({
        email: normalizeEmail(input.email),
        name: input.name ?? null,
        passwordHash: input.passwordHash ?? null,
        role: input.role,
        trainingConsent: consent,
        trainingConsentChangedAt: consent ? sql`now()` : null,
      })
      .returning(publicColumns);
    return mustExist(row, "user");
  });
}

export async function findUserByEmail(db: DbOrTx, email: string): Promise<User | null> {
  return withDbErrors(async () => {
    const [row] = await db.select(publicColumns).from(user).where(emailMatches(email));
    return row ?? null;
  });
}

export type UserCredentials = {
  id: string;
  role: UserRole;
  passwordHash: string | null;
  blockedAt: Date | null;
};

/** For the credentials sign-in only: never return this to a client. */
export async function findUserCredentialsByEmail(db: DbOrTx, email: string): Promise<UserCredentials | null> {
  return withDbErrors(async () => {
    const [row] = await db
      .select({ id: user.id, role: user.role, passwordHash: user.passwordHash, blockedAt: user.blockedAt })
      .from(user)
      .where(emailMatches(email));
    return row ?? null;
  });
}

export async function getUser(db: DbOrTx, userId: string): Promise<User> {
  return withDbErrors(async () => {
    const [row] = await db.select(publicColumns).from(user).where(eq(user.id, userId));
    if (!row) throw new NotFoundError(`user ${userId} not found`, { table: "user" });
    return row;
  });
}

/** Grants or revokes training consent; the timestamp moves only when the flag changes. Applies to future claims. */
export async function setTrainingConsent(
  db: DbOrTx,
  input: { userId: string; consent: boolean },
): Promise<User> {
  return updateUser(db, input.userId, {
    trainingConsent: input.consent,
    trainingConsentChangedAt: sql`case when ${user.trainingConsent} is distinct from ${input.consent} then now() else ${user.trainingConsentChangedAt} end`,
  });
}

/** Moderation: excluded users' votes are never claimed for training (already-consumed labels stay consumed). */
export async function setUserExcludedFromTraining(
  db: DbOrTx,
  input: { userId: string; excluded: boolean },
): Promise<User> {
  return updateUser(db, input.userId, {
    excludedFromTraining: input.excluded,
    excludedFromTrainingAt: input.excluded ? sql`coalesce(${user.excludedFromTrainingAt}, now())` : null,
  });
}

/** Blocks or unblocks an account; a blocked user's votes are never claimed for training either. */
export async function setUserBlocked(db: DbOrTx, input: { userId: string; blocked: boolean }): Promise<User> {
  return updateUser(db, input.userId, {
    blockedAt: input.blocked ? sql`coalesce(${user.blockedAt}, now())` : null,
  });
}

export async function setUserRole(db: DbOrTx, input: { userId: string; role: UserRole }): Promise<User> {
  return updateUser(db, input.userId, { role: input.role });
}

async function updateUser(db: DbOrTx, userId: string, set: PgUpdateSetSource<typeof user>): Promise<User> {
  return withDbErrors(async () => {
    const [row] = await db
      .update(user)
      .set({ ...set, updatedAt: sql`now()` })
      .where(eq(user.id, userId))
      .returning(publicColumns);
    if (!row) throw new NotFoundError(`user ${userId} not found`, { table: "user" });
    return row;
  });
}

function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

function emailMatches(email: string) {
  return sql`lower(${user.email}) = ${normalizeEmail(email)}`;
}
