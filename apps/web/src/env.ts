import "~/server/only";

import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

import { z } from "zod";

// The only reader of process.env in the web app; validated on first use, errors name the variable.
const schema = z.object({
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: "DATABASE_URL must be a postgres:// URL" })
    .optional(),
  LIKEWISE_HOME: z.string().min(1).optional(),
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  /** JWT signing secret; when unset one is generated once and kept in $LIKEWISE_HOME/web/auth-secret. */
  NEXTAUTH_SECRET: z.string().min(32, "NEXTAUTH_SECRET must be at least 32 characters").optional(),
  NEXTAUTH_URL: z.url().optional(),
  GITHUB_ID: z.string().min(1).optional(),
  GITHUB_SECRET: z.string().min(1).optional(),
  GOOGLE_CLIENT_ID: z.string().min(1).optional(),
  GOOGLE_CLIENT_SECRET: z.string().min(1).optional(),
  /** Multiplies every rate limit's capacity (e.g. 100 for load tests); 1 by default. */
  LIKEWISE_RATE_LIMIT_SCALE: z.coerce.number().positive().default(1),
  /**
   * How many reverse proxies in front of the web app append to X-Forwarded-For (per-IP limits then key on the
   * address the outermost trusted proxy saw); 0 by default: the socket's address, X-Forwarded-For ignored.
   */
  LIKEWISE_TRUST_PROXY: z.coerce
    .number({ error: "LIKEWISE_TRUST_PROXY must be a number of proxy hops (0 = none)" })
    .int("LIKEWISE_TRUST_PROXY must be a whole number of proxy hops")
    .min(0, "LIKEWISE_TRUST_PROXY must be 0 (no proxy) or more")
    .max(16, "LIKEWISE_TRUST_PROXY: more than 16 trusted proxy hops is a mistake")
    .default(0),
});

let secret: string | undefined;

function load() {
  const blankToUndefined = Object.fromEntries(
    Object.entries(process.env).map(([k, v]) => [k, v === "" ? undefined : v]),
  );
  const parsed = schema.safeParse(blankToUndefined);
  if (!parsed.success) {
    throw new Error(
      `invalid environment: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  }
  const d = parsed.data;
  // `next start` runs in apps/web; the installation's home is the repository's .likewise by default.
  const home = resolve(
    /*turbopackIgnore: true*/ d.LIKEWISE_HOME ?? resolve(process.cwd(), "..", "..", ".likewise"),
  );
  return {
    databaseUrl: d.DATABASE_URL,
    home,
    isProduction: d.NODE_ENV === "production",
    nextAuthUrl: d.NEXTAUTH_URL,
    /** Read lazily: `next build` imports this module and must not create files in the installation. */
    authSecret: () => (secret ??= d.NEXTAUTH_SECRET ?? persistentSecret(resolve(home, "web", "auth-secret"))),
    oauth: {
      github:
        d.GITHUB_ID && d.GITHUB_SECRET ? { clientId: d.GITHUB_ID, clientSecret: d.GITHUB_SECRET } : null,
      google:
        d.GOOGLE_CLIENT_ID && d.GOOGLE_CLIENT_SECRET
          ? { clientId: d.GOOGLE_CLIENT_ID, clientSecret: d.GOOGLE_CLIENT_SECRET }
          : null,
    },
    rateLimitScale: d.LIKEWISE_RATE_LIMIT_SCALE,
    trustProxyHops: d.LIKEWISE_TRUST_PROXY,
  };
}

/** A random secret created on first use and kept (mode 600) so sessions survive restarts and all replicas on one home agree. */
function persistentSecret(file: string): string {
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(dirname(file), { recursive: true });
  try {
    writeFileSync(file, randomBytes(32).toString("base64url"), { flag: "wx", mode: 0o600 });
  } catch {
    // another process created it first: use theirs
  }
  chmodSync(file, 0o600);
  return readFileSync(file, "utf8").trim();
}

export type WebEnv = ReturnType<typeof load>;
export const env = load();
