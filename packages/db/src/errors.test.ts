import { describe, expect, it } from "vitest";

import { createDb } from "./client.ts";
import {
  ConflictError,
  DbError,
  InvalidInputError,
  NotFoundError,
  retryOnConflict,
  toDbError,
  UnavailableError,
} from "./errors.ts";
import { getUser } from "./queries/user.ts";

// Shaped like postgres.js's PostgresError (server fields as own properties), wrapped as drizzle does.
function pgError(fields: Record<string, string>): Error {
  const inner = Object.assign(new Error(fields.message ?? "boom"), fields);
  return new Error("Failed query: …", { cause: inner });
}

describe("toDbError", () => {
  it.each([
    ["23505", "CONFLICT", ConflictError],
    ["23P01", "CONFLICT", ConflictError],
    ["23514", "INVALID_INPUT", InvalidInputError],
    ["23502", "INVALID_INPUT", InvalidInputError],
    ["22P02", "INVALID_INPUT", InvalidInputError],
    ["22003", "INVALID_INPUT", InvalidInputError],
    ["57P01", "UNAVAILABLE", UnavailableError],
    ["08006", "UNAVAILABLE", UnavailableError],
  ] as const)("maps SQLSTATE %s to %s", (code, name, cls) => {
    const e = toDbError(pgError({ code, constraint_name: "c1", table_name: "t1" }));
    expect(e).toBeInstanceOf(cls);
    expect(e).toMatchObject({ code: name, constraint: "c1", table: "t1" });
    expect(e.cause).toBeInstanceOf(Error);
  });

  it("tells a missing reference (NOT_FOUND) from a still-referenced row (CONFLICT)", () => {
    expect(
      toDbError(pgError({ code: "23503", detail: 'Key (image_id)=(x) is not present in table "image".' })),
    ).toBeInstanceOf(NotFoundError);
    expect(
      toDbError(pgError({ code: "23503", detail: 'Key (id)=(x) is still referenced from table "vote".' })),
    ).toBeInstanceOf(ConflictError);
  });

  it("marks serialization failures and deadlocks retryable, and passes DbErrors through", () => {
    expect(toDbError(pgError({ code: "40001" }))).toMatchObject({ code: "CONFLICT", retryable: true });
    expect(toDbError(pgError({ code: "40P01" }))).toMatchObject({ code: "CONFLICT", retryable: true });
    const own = new NotFoundError("x");
    expect(toDbError(own)).toBe(own);
    expect(toDbError(new Error("plain"))).toMatchObject({ code: "INTERNAL", message: "plain" });
    expect(toDbError("string")).toBeInstanceOf(DbError);
  });

  it("turns an unreachable server into UNAVAILABLE from a verb", async () => {
    const { db, close } = createDb("postgres://nobody@127.0.0.1:1/none", { max: 1 });
    try {
      const e: unknown = await getUser(db, "00000000-0000-4000-8000-000000000000").catch(
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(UnavailableError);
      expect(e).toMatchObject({ code: "UNAVAILABLE", retryable: true });
    } finally {
      await close();
    }
  });
});

describe("retryOnConflict", () => {
  const deadlock = () => new ConflictError("deadlock detected", { retryable: true });
  const failing = (errors: Error[], value = "done") => {
    let calls = 0;
    const verb = () => {
      const e = errors[calls++];
      return e ? Promise.reject(e) : Promise.resolve(value);
    };
    return { verb, calls: () => calls };
  };

  it("runs a verb again after a retryable conflict and returns its result", async () => {
    const f = failing([deadlock(), deadlock()]);
    await expect(retryOnConflict(f.verb)).resolves.toBe("done");
    expect(f.calls()).toBe(3);
  });

  it("gives up after the attempts, and never retries other errors or non-retryable conflicts", async () => {
    const three = failing([deadlock(), deadlock(), deadlock()]);
    await expect(retryOnConflict(three.verb, 3)).rejects.toThrow("deadlock detected");
    expect(three.calls()).toBe(3);
    for (const e of [new ConflictError("duplicate key"), new UnavailableError("down"), new Error("bug")]) {
      const once = failing([e]);
      await expect(retryOnConflict(once.verb)).rejects.toBe(e);
      expect(once.calls()).toBe(1);
    }
  });
});
