import { resolve } from "node:path";

import { z } from "zod";

// The only reader of process.env in the trainer. Validated at boot; a bad value stops the process with a message.
const schema = z.object({
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: "DATABASE_URL must be a postgres:// URL" })
    .optional(),
  LIKEWISE_HOME: z.string().min(1).default(".likewise"),
  TRAINER_WORKER_ID: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  POOL_TARGET: z.coerce.number().int().min(0).max(1000).default(4),
  POOL_PLAN_INTERVAL_MS: z.coerce.number().int().min(100).default(15_000),
  MODEL_RECONCILE_INTERVAL_MS: z.coerce.number().int().min(100).default(5_000),
  SERVING_THREADS: z.coerce.number().int().min(1).max(64).default(1),
  ROUND_STALE_MS: z.coerce.number().int().min(1000).default(60_000),
  ROUND_SWEEP_INTERVAL_MS: z.coerce.number().int().min(500).default(15_000),
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
    /** Unrated images kept per (active version, active curated prompt). 0 disables the pool. */
    poolTarget: e.POOL_TARGET,
    poolPlanIntervalMs: e.POOL_PLAN_INTERVAL_MS,
    /** The model host re-reads the registry this often even without a NOTIFY. */
    modelReconcileIntervalMs: e.MODEL_RECONCILE_INTERVAL_MS,
    /** ONNX Runtime intra-op threads of the trainer's model host (it shares the cores with training). */
    servingThreads: e.SERVING_THREADS,
    /** A live round whose worker has not sent a heartbeat for this long is resumed by another worker. */
    roundStaleMs: e.ROUND_STALE_MS,
    /** How often a worker looks for stale/queued rounds and data-triggered schedules. */
    roundSweepIntervalMs: e.ROUND_SWEEP_INTERVAL_MS,
  };
}

export const env = load();
export type TrainerEnv = typeof env;
