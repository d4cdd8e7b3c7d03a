import { sql } from "drizzle-orm";

import type { DbOrTx } from "../client.ts";
import type { VoteValue } from "../enums.ts";
import { type DbError, InvalidInputError, toDbError, UnavailableError } from "../errors.ts";
import type { CastVoteOnceResult } from "./feed.ts";

/** One vote of a batch: castVoteOnce's input plus the API key it arrived with (checked in the same transaction). */
export type BatchVote = {
  /** The API key's id, or null for a vote that did not come with a key. */
  keyId: string | null;
  userId: string;
  imageId: string;
  /** null clears the vote. */
  value: VoteValue | null;
  requestId: string;
};

/** What happened to one vote of a batch. */
export type BatchVoteOutcome =
  | { kind: "cast"; result: CastVoteOnceResult }
  /** The key was revoked, its account blocked, or it belongs to another user: nothing was written. */
  | { kind: "unauthorized" }
  /** This vote failed alone (request id reused, unknown image, …); the others were unaffected. */
  | { kind: "failed"; error: DbError };

/** likewise_cast_votes (drizzle/0012) takes at most this many votes per call: one subtransaction each, ≤ 64. */
export const MAX_VOTES_PER_BATCH = 64;

type BatchRow = {
  ord: number;
  error_code: string | null;
  error_message: string | null;
  value: VoteValue | null;
  previous_value: VoteValue | null;
  changed: boolean | null;
  label_id: string | number | null;
  requeued: boolean | null;
  is_duplicate: boolean | null;
};

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A PostgreSQL array literal of uuids (validated here, so the literal cannot carry anything else). */
function uuidArray(ids: readonly (string | null)[], what: string): string {
  for (const id of ids)
    if (id !== null && !UUID_RE.test(id))
      throw new InvalidInputError(`castVotes: ${what} ${id} is not a uuid`);
  return `{${ids.map((id) => id ?? "NULL").join(",")}}`;
}

function valueArray(values: readonly (VoteValue | null)[]): string {
  for (const v of values)
    if (v !== null && v !== "like" && v !== "dislike")
      throw new InvalidInputError(`castVotes: value must be like, dislike or null, not ${String(v)}`);
  return `{${values.map((v) => v ?? "NULL").join(",")}}`;
}

/**
 * Casts up to MAX_VOTES_PER_BATCH votes in one statement and one transaction (likewise_cast_votes, drizzle/0012):
 * each vote follows castVoteOnce's rules exactly (it runs the same server-side function) and succeeds or fails on
 * its own; a vote with a key is written only if the key is live, unblocked and its user's. Outcomes are in input
 * order. Throws (a DbError) only when the statement itself fails, e.g. the database is unreachable: then nothing
 * of the batch is known to be written.
 */
export async function castVotes(db: DbOrTx, votes: readonly BatchVote[]): Promise<BatchVoteOutcome[]> {
  if (votes.length === 0) return [];
  if (votes.length > MAX_VOTES_PER_BATCH)
    throw new InvalidInputError(
      `castVotes: at most ${MAX_VOTES_PER_BATCH} votes per call, got ${votes.length}`,
    );
  const ids = (field: "keyId" | "userId" | "imageId" | "requestId", what: string) =>
    uuidArray(
      votes.map((v) => v[field]),
      what,
    );
  const keys = ids("keyId", "key id");
  const users = ids("userId", "user id");
  const images = ids("imageId", "image id");
  const requests = ids("requestId", "request id");
  const values = valueArray(votes.map((v) => v.value));
  let rows: BatchRow[];
  try {
    const res = await db.execute(
      sql`select * from likewise_cast_votes(${keys}::uuid[], ${users}::uuid[], ${images}::uuid[], ${values}::vote_value[], ${requests}::uuid[])`,
    );
    rows = res as unknown as BatchRow[]; // RETURNS TABLE in 0012: one row per vote, ord = 1-based input position
  } catch (e) {
    throw toDbError(e);
  }
  if (rows.length !== votes.length)
    throw toDbError(new Error(`likewise_cast_votes answered ${rows.length} rows for ${votes.length} votes`));
  return rows
    .slice()
    .sort((a, b) => a.ord - b.ord)
    .map((row, i): BatchVoteOutcome => {
      const v = votes[i] as BatchVote;
      if (row.error_code === "28000") return { kind: "unauthorized" };
      if (row.error_code !== null) {
        const err = Object.assign(new Error(row.error_message ?? "vote failed"), { code: row.error_code });
        return { kind: "failed", error: toDbError(err) };
      }
      const labelId = row.label_id === null ? null : Number(row.label_id);
      return {
        kind: "cast",
        result: {
          userId: v.userId,
          imageId: v.imageId,
          value: row.value,
          previousValue: row.previous_value,
          changed: row.changed === true,
          labelId,
          // The batch does not return the event row: the API answers with changed/duplicate only.
          event: null,
          requeued: row.requeued === true,
          isDuplicate: row.is_duplicate === true,
        },
      };
    });
}

export type VoteWriterOptions = {
  /** Votes per statement (≤ MAX_VOTES_PER_BATCH). */
  maxBatch?: number;
  /** Votes waiting beyond this are refused at once (UnavailableError): the database is not keeping up. */
  maxQueue?: number;
  /**
   * A batch not answered after this long is given up on: its votes fail with UnavailableError (a retry with the same
   * request id is safe whether or not it committed) and the next batch starts, on another pool connection.
   */
  batchTimeoutMs?: number;
};

export type VoteWriter = {
  /** Resolves when the vote is committed (or failed alone); rejects with a DbError when its batch failed. */
  cast: (vote: BatchVote) => Promise<BatchVoteOutcome>;
  /** Votes waiting for a batch, and batches in flight (0 or 1). */
  stats: () => { queued: number; inFlight: number; batches: number; votes: number };
  /** Waits for queued votes to be written; later casts are refused. */
  drain: () => Promise<void>;
};

type Pending = { vote: BatchVote; resolve: (o: BatchVoteOutcome) => void; reject: (e: unknown) => void };

/**
 * Group commit for API votes: a vote is sent at once when no batch is in flight; otherwise it waits for the batch in
 * flight and goes out with every vote that arrived meanwhile, in one castVotes statement. One batch at a time, so
 * batches never wait on each other's locks and a busy server sends few, full statements (one plan, one WAL flush for
 * many votes) while an idle one adds no delay. A caller's promise settles only after its batch committed.
 */
export function createVoteWriter(db: DbOrTx, opts: VoteWriterOptions = {}): VoteWriter {
  const maxBatch = Math.min(opts.maxBatch ?? MAX_VOTES_PER_BATCH, MAX_VOTES_PER_BATCH);
  const maxQueue = opts.maxQueue ?? 20_000;
  const batchTimeoutMs = opts.batchTimeoutMs ?? 10_000;
  const queue: Pending[] = [];
  let inFlight = 0;
  let batches = 0;
  let written = 0;
  let closing = false;
  let drained: (() => void) | null = null;

  function pump(): void {
    if (inFlight > 0) return;
    if (queue.length === 0) {
      drained?.();
      return;
    }
    const batch = queue.splice(0, maxBatch);
    inFlight++;
    batches++;
    let settled = false;
    const finish = () => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      inFlight--;
      queueMicrotask(pump);
      return true;
    };
    const timer = setTimeout(() => {
      if (!finish()) return;
      const err = new UnavailableError(
        `the database did not answer a vote batch within ${batchTimeoutMs} ms`,
      );
      for (const p of batch) p.reject(err);
    }, batchTimeoutMs);
    castVotes(
      db,
      batch.map((p) => p.vote),
    ).then(
      (outcomes) => {
        if (!finish()) return;
        written += batch.length;
        batch.forEach((p, i) => p.resolve(outcomes[i] as BatchVoteOutcome));
      },
      (e: unknown) => {
        if (!finish()) return;
        for (const p of batch) p.reject(e);
      },
    );
  }

  return {
    cast(vote) {
      if (closing) return Promise.reject(new UnavailableError("the vote writer is shutting down"));
      if (queue.length >= maxQueue)
        return Promise.reject(new UnavailableError(`${queue.length} votes are waiting for the database`));
      return new Promise<BatchVoteOutcome>((resolve, reject) => {
        queue.push({ vote, resolve, reject });
        pump();
      });
    },
    stats: () => ({ queued: queue.length, inFlight, batches, votes: written }),
    drain() {
      closing = true;
      if (inFlight === 0 && queue.length === 0) return Promise.resolve();
      return new Promise<void>((res) => (drained = res));
    },
  };
}
