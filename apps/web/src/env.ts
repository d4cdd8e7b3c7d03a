import "server-only";

import { resolve } from "node:path";

import { z } from "zod";

// The only reader of process.env in the web app; validated on first use, errors name the variable.
const schema = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: "DATABASE_URL must be a postgres:// URL" }).optional(),
  LIKEWISE_HOME: z.string().min(1).optional(),
});

function load() {
  const parsed = schema.safeParse({ ...process.env, DATABASE_URL: process.env.DATABASE_URL || undefined });
  if (!parsed.success) {
    throw new Error(`invalid environment: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  return {
    databaseUrl: parsed.data.DATABASE_URL,
    // `next start` runs in apps/web; the installation's home is the repository's .likewise by default.
    home: resolve(/*turbopackIgnore: true*/ parsed.data.LIKEWISE_HOME ?? resolve(process.cwd(), "..", "..", ".likewise")),
  };
}

export const env = load();
