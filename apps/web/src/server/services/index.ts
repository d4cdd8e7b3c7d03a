import "~/server/only";

import type { Db, HostWaitOptions } from "@likewise/db";
import { type JobQueue, openJobQueue } from "@likewise/db/queue";
import type { Tokenizer } from "@likewise/serving";

import { productionTokenizer } from "./vocabulary";

/** What procedures need beyond the database; tests build their own. */
export type WebServices = {
  /** The production model's tokenizer (prompt vocabulary), or null before a production model exists. */
  vocabulary: (db: Db) => Promise<{ tokenizer: Tokenizer; modelVersionId: string } | null>;
  /** The job queue (producer side): on-demand generations go to the trainer through it. */
  queue: () => Promise<Pick<JobQueue, "send">>;
  /** How starting an experiment waits for the serving hosts to load its versions. */
  experimentHosts: HostWaitOptions;
};

export const DEFAULT_EXPERIMENT_HOSTS: HostWaitOptions = {
  timeoutMs: 120_000,
  pollMs: 500,
  seenWithinMs: 30_000,
};

export function createWebServices(opts: { home: string; databaseUrl: () => string }): WebServices {
  let queue: Promise<JobQueue> | undefined;
  return {
    vocabulary: (db) => productionTokenizer(db, opts.home),
    experimentHosts: DEFAULT_EXPERIMENT_HOSTS,
    queue: () => {
      queue ??= openJobQueue(opts.databaseUrl(), { role: "producer", applicationName: "likewise-web-queue" });
      queue.catch(() => (queue = undefined)); // retry on the next request
      return queue;
    },
  };
}
