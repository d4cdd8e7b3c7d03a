import { expect } from "vitest";

import { DbError, type DbErrorCode } from "../errors.ts";

/** Awaits a promise that must reject with a DbError of `code`; returns the error for further checks. */
export async function expectDbError(p: Promise<unknown>, code: DbErrorCode): Promise<DbError> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DbError);
  if (!(e instanceof DbError)) throw new Error("unreachable: asserted above");
  expect(e.code).toBe(code);
  return e;
}
