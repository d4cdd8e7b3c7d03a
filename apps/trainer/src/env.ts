import { resolve } from "node:path";

import { z } from "zod";

// The only reader of process.env in the trainer. Validated at boot; a bad value stops the process with a message.
const schema = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: "DATABASE_URL must be a postgres:// URL" }).optional(),
  LIKEWISE_HOME: z.string().min(1).default(".likewise"),
  TRAINER_WORKER_ID: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
});

function load() {
  const parsed = schema.safeParse({ ...process.env, DATABASE_URL: process.env.DATABASE_URL || undefined });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n");
    console.error(`likewise trainer: invalid environment\n${lines}`);
    process.exit(2);
  }
  const e = parsed.data;
  return {
    databaseUrl: e.DATABASE_URL,
    home: resolve(e.LIKEWISE_HOME),
    workerId: e.TRAINER_WORKER_ID ?? `trainer-${process.pid}`,
    logLevel: e.LOG_LEVEL,
  };
}

export const env = load();
export type TrainerEnv = typeof env;
