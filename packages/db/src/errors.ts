// Typed domain errors. Verbs throw only DbError subclasses: driver errors are translated here, in one place.

/** Every code a verb can throw, with when. */
export const DB_ERROR_CODES = {
  /** A `get*` verb found no row, or an input references a row that does not exist (FK violation, 23503). */
  NOT_FOUND: "NOT_FOUND",
  /** A uniqueness rule was hit (23505, 23P01), a row is still referenced (23503 on delete), or a concurrent
   *  transaction won (40001/40P01/55P03, `retryable`). */
  CONFLICT: "CONFLICT",
  /** The row exists but its state forbids the operation (an illegal round transition; editing an append-only
   *  log, 55000). */
  INVALID_STATE: "INVALID_STATE",
  /** The input violates a column rule: CHECK (23514), NOT NULL (23502), bad enum/uuid/number text (22xxx). */
  INVALID_INPUT: "INVALID_INPUT",
  /** The database could not be reached or cancelled the statement (08xxx, 57xxx); `retryable`. */
  UNAVAILABLE: "UNAVAILABLE",
  /** Anything else: a bug or an unexpected server error. The original is on `cause`. */
  INTERNAL: "INTERNAL",
} as const;
export type DbErrorCode = keyof typeof DB_ERROR_CODES;

export type DbErrorDetails = {
  /** Constraint that failed, when PostgreSQL names one (e.g. "vote_image_id_image_id_fk"). */
  constraint?: string;
  table?: string;
  column?: string;
  /** True when repeating the same call may succeed (serialization failure, deadlock, lost connection). */
  retryable?: boolean;
  cause?: unknown;
};

export class DbError extends Error {
  readonly code: DbErrorCode;
  readonly constraint: string | undefined;
  readonly table: string | undefined;
  readonly column: string | undefined;
  readonly retryable: boolean;

  constructor(code: DbErrorCode, message: string, details: DbErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    this.constraint = details.constraint;
    this.table = details.table;
    this.column = details.column;
    this.retryable = details.retryable ?? false;
  }
}

export class NotFoundError extends DbError {
  constructor(message: string, details?: DbErrorDetails) {
    super("NOT_FOUND", message, details);
  }
}
export class ConflictError extends DbError {
  constructor(message: string, details?: DbErrorDetails) {
    super("CONFLICT", message, details);
  }
}
export class InvalidStateError extends DbError {
  constructor(message: string, details?: DbErrorDetails) {
    super("INVALID_STATE", message, details);
  }
}
export class InvalidInputError extends DbError {
  constructor(message: string, details?: DbErrorDetails) {
    super("INVALID_INPUT", message, details);
  }
}
export class UnavailableError extends DbError {
  constructor(message: string, details?: DbErrorDetails) {
    super("UNAVAILABLE", message, { retryable: true, ...details });
  }
}

type PgErrorFields = {
  code: string;
  message: string;
  detail?: string;
  constraint_name?: string;
  table_name?: string;
  column_name?: string;
};

// postgres.js errors carry the server's fields as own properties; drizzle wraps them in DrizzleQueryError.cause.
function findPgError(e: unknown): PgErrorFields | undefined {
  for (let cur: unknown = e, depth = 0; cur instanceof Error && depth < 5; cur = cur.cause, depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string") {
      const f = cur as Error & Partial<Record<keyof PgErrorFields, unknown>>;
      const str = (v: unknown) => (typeof v === "string" ? v : undefined);
      return {
        code,
        message: f.message,
        detail: str(f.detail),
        constraint_name: str(f.constraint_name),
        table_name: str(f.table_name),
        column_name: str(f.column_name),
      };
    }
  }
  return undefined;
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
]);

/** Any thrown value → a DbError (DbErrors pass through unchanged). */
export function toDbError(e: unknown): DbError {
  if (e instanceof DbError) return e;
  const pg = findPgError(e);
  if (!pg) return new DbError("INTERNAL", e instanceof Error ? e.message : String(e), { cause: e });
  const details: DbErrorDetails = {
    constraint: pg.constraint_name,
    table: pg.table_name,
    column: pg.column_name,
    cause: e,
  };
  const text = pg.detail ? `${pg.message} (${pg.detail})` : pg.message;
  const c = pg.code;
  if (c === "23503") {
    // The server words the two directions differently; "still referenced" = a delete/update of a parent row.
    return pg.detail?.includes("still referenced")
      ? new ConflictError(`still referenced: ${text}`, details)
      : new NotFoundError(`unknown reference: ${text}`, details);
  }
  if (c === "23505" || c === "23P01") return new ConflictError(text, details);
  if (c === "40001" || c === "40P01" || c === "55P03")
    return new ConflictError(text, { ...details, retryable: true });
  if (c === "55000") return new InvalidStateError(text, details);
  if (c === "23514" || c === "23502" || c.startsWith("22")) return new InvalidInputError(text, details);
  if (c === "UNDEFINED_VALUE") return new InvalidInputError(text, details);
  if (c.startsWith("08") || c.startsWith("57") || c === "53300" || CONNECTION_CODES.has(c)) {
    return new UnavailableError(text, details);
  }
  return new DbError("INTERNAL", text, details);
}

/** Runs a verb body and translates whatever it throws: callers never see a raw driver error. */
export async function withDbErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toDbError(e);
  }
}

/**
 * Runs a verb (one transaction) again when a concurrent transaction made the server abort it with a retryable
 * conflict (deadlock, serialization failure, lock timeout), up to `attempts` times in all (after a short jittered pause); any other error, and the
 * last conflict, is thrown as it came. The retry sees the winner's committed rows, so the caller gets the verb's own
 * verdict (e.g. "the slice is taken") instead of "deadlock detected".
 */
export async function retryOnConflict<T>(verb: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await verb();
    } catch (e) {
      if (i >= attempts || !(e instanceof ConflictError) || !e.retryable) throw e;
      // A short, growing, jittered pause, so the transactions that collided do not collide again in step.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * 2 ** i));
    }
  }
}
