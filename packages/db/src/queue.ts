// The job queue shared by web (producer) and trainer (worker): pg-boss 10 (the newest that supports Node 20) on the
// same PostgreSQL. Queue names and payload shapes live here once, so both apps send and receive typed, validated jobs.
import PgBoss from "pg-boss";
import { z } from "zod";

export const QUEUE_NAMES = {
  /** On-demand generations; the payload names a generation_request row, which holds the state. */
  generation: "likewise-generation",
  /** Pool refills: `count` more unrated images of one (model version, prompt). */
  pool: "likewise-pool",
  /** Alignment rounds; the payload names an alignment_round row, which holds the state. */
  round: "likewise-round",
} as const;
export type QueueKey = keyof typeof QUEUE_NAMES;

export const GenerationJob = z.object({ requestId: z.uuid() });
export type GenerationJob = z.infer<typeof GenerationJob>;
export const PoolJob = z.object({
  modelVersionId: z.string().min(1),
  promptId: z.uuid(),
  count: z.int().min(1).max(64),
});
export type PoolJob = z.infer<typeof PoolJob>;
export const RoundJob = z.object({ roundId: z.uuid() });
export type RoundJob = z.infer<typeof RoundJob>;

const PAYLOADS = { generation: GenerationJob, pool: PoolJob, round: RoundJob } as const;
export type JobPayloads = { generation: GenerationJob; pool: PoolJob; round: RoundJob };

// generation: a retry re-runs the whole request (the row says how far it got). pool: "stately" keeps at most one
// queued and one running job per singleton key (version:prompt), so repeated planning never piles up duplicates.
const QUEUE_OPTIONS: Record<QueueKey, Omit<PgBoss.Queue, "name">> = {
  generation: { policy: "standard", retryLimit: 2, retryDelay: 1, expireInSeconds: 300 },
  pool: { policy: "stately", retryLimit: 1, retryDelay: 5, expireInSeconds: 600 },
  // round: "singleton" runs at most one round job at a time across workers (the DB's lease and unique index are the
  // backstop). A worker that dies leaves its job active until expiry; its round is resumed by the stale sweep instead.
  round: { policy: "singleton", retryLimit: 0, expireInSeconds: 6 * 3600 },
};

export const SCHEDULE_QUEUE_PREFIX = "likewise-schedule.";

export type SendJobOptions = { id?: string; singletonKey?: string; priority?: number };
export type JobInfo = { id: string; retryCount: number; retryLimit: number };
export type QueueSizes = Record<QueueKey, { queued: number; active: number }>;

export type JobQueue = {
  /** Enqueues a job → its id, or null when pg-boss deduplicated it (same id, or a stately singleton already queued). */
  send<K extends QueueKey>(
    queue: K,
    payload: JobPayloads[K],
    options?: SendJobOptions,
  ): Promise<string | null>;
  /** Runs `handler` for each job, one at a time; a throw fails the attempt (retried per the queue's policy). */
  work<K extends QueueKey>(
    queue: K,
    options: { pollingIntervalSeconds?: number },
    handler: (payload: JobPayloads[K], job: JobInfo) => Promise<void>,
  ): Promise<string>;
  /** Jobs waiting (created + retry) and running, per queue. */
  sizes(): Promise<QueueSizes>;
  /**
   * Cron schedules on pg-boss's timekeeper (time-zone aware; worker role only). Schedule `id` fires a job on its own
   * queue `likewise-schedule.<id>` (pg-boss keys schedules by queue); `handler` runs with the id. Replaces the whole
   * set: schedules missing from `list` are unscheduled. A bad cron or time zone rejects with pg-boss's message.
   */
  syncSchedules(
    list: readonly { id: string; cron: string; timezone: string }[],
    handler: (scheduleId: string) => Promise<void>,
  ): Promise<void>;
  stop(): Promise<void>;
};

export type OpenJobQueueOptions = {
  /** producer: only sends (no maintenance, no cron); worker: also runs pg-boss maintenance. */
  role: "producer" | "worker";
  /** Connection pool size of pg-boss's own `pg` pool. Default 2 for producers, 4 for workers. */
  max?: number;
  applicationName?: string;
  /** pg-boss background errors (lost connection…); it keeps retrying. Default: ignored. */
  onError?: (error: Error) => void;
};

/** Connects, installs/migrates pg-boss's schema (advisory-locked) and creates the queues. */
export async function openJobQueue(url: string, options: OpenJobQueueOptions): Promise<JobQueue> {
  const isWorker = options.role === "worker";
  const boss = new PgBoss({
    connectionString: url,
    max: options.max ?? (isWorker ? 4 : 2),
    application_name: options.applicationName ?? `likewise-queue-${options.role}`,
    supervise: isWorker,
    schedule: isWorker,
    migrate: true,
  });
  boss.on("error", (e) => options.onError?.(e));
  const worked = new Set<string>();
  await boss.start();
  for (const key of Object.keys(QUEUE_NAMES) as QueueKey[]) {
    await boss.createQueue(QUEUE_NAMES[key], { name: QUEUE_NAMES[key], ...QUEUE_OPTIONS[key] });
  }
  return {
    async send(queue, payload, opts = {}) {
      const data = PAYLOADS[queue].parse(payload);
      return boss.send(QUEUE_NAMES[queue], data, opts);
    },
    async work(queue, opts, handler) {
      return boss.work(
        QUEUE_NAMES[queue],
        { batchSize: 1, includeMetadata: true, pollingIntervalSeconds: opts.pollingIntervalSeconds ?? 1 },
        async (jobs) => {
          for (const job of jobs) {
            const payload = PAYLOADS[queue].parse(job.data) as JobPayloads[typeof queue];
            await handler(payload, { id: job.id, retryCount: job.retryCount, retryLimit: job.retryLimit });
          }
        },
      );
    },
    async sizes() {
      const out = {} as QueueSizes; // safe: every key is filled below
      for (const key of Object.keys(QUEUE_NAMES) as QueueKey[]) {
        const queued = await boss.getQueueSize(QUEUE_NAMES[key], { before: "active" });
        const upToActive = await boss.getQueueSize(QUEUE_NAMES[key], { before: "completed" });
        out[key] = { queued, active: upToActive - queued };
      }
      return out;
    },
    async syncSchedules(list, handler) {
      const wanted = new Set(list.map((s) => `${SCHEDULE_QUEUE_PREFIX}${s.id}`));
      for (const s of list) {
        const name = `${SCHEDULE_QUEUE_PREFIX}${s.id}`;
        if (!worked.has(name)) {
          await boss.createQueue(name, { name, policy: "singleton", retryLimit: 0, expireInSeconds: 600 });
          await boss.work(name, { batchSize: 1, pollingIntervalSeconds: 5 }, async () => handler(s.id));
          worked.add(name);
        }
        // pg-boss's cron parser accepts an unknown zone and fails later; Intl refuses it now (RangeError).
        new Intl.DateTimeFormat("en", { timeZone: s.timezone });
        await boss.schedule(name, s.cron, { scheduleId: s.id }, { tz: s.timezone });
      }
      for (const existing of await boss.getSchedules()) {
        if (existing.name.startsWith(SCHEDULE_QUEUE_PREFIX) && !wanted.has(existing.name))
          await boss.unschedule(existing.name);
      }
    },
    stop: () => boss.stop({ graceful: true, wait: true, timeout: 10_000 }),
  };
}
