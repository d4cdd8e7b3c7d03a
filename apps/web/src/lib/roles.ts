import type { UserRole } from "@likewise/db/enums";

// Roles are nested: an admin may do everything an analyst may, an analyst everything a rater may.
const RANK: Record<UserRole, number> = { rater: 0, analyst: 1, admin: 2 };

/** True when `role` is `min` or above it. */
export function roleAtLeast(role: UserRole, min: UserRole): boolean {
  return RANK[role] >= RANK[min];
}
