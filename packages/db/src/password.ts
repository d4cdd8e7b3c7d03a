import bcrypt from "bcryptjs";

/** bcrypt cost: ~250 ms per hash on these machines' cores; high enough for an online attacker, fine for sign-in. */
export const BCRYPT_COST = 12;
/** bcrypt only reads the first 72 bytes; longer passwords are refused rather than silently truncated. */
export const MAX_PASSWORD_BYTES = 72;

/** Hash a password for the `user.password_hash` column. */
export async function hashPassword(password: string): Promise<string> {
  if (Buffer.byteLength(password, "utf8") > MAX_PASSWORD_BYTES) {
    throw new RangeError(`password longer than ${MAX_PASSWORD_BYTES} bytes`);
  }
  return bcrypt.hash(password, BCRYPT_COST);
}

/** Constant-time check of a password against a stored hash; false (never a throw) for a malformed hash. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  try {
    return await bcrypt.compare(password, hash);
  } catch {
    return false;
  }
}
