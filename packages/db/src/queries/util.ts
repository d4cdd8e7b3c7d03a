import { and, type AnyColumn, eq, lt, or, type SQL } from "drizzle-orm";

/** `insert … returning` yields exactly one row per inserted row; an empty result here is a driver bug. */
export function mustExist<T>(row: T | undefined, what: string): T {
  if (row === undefined) throw new Error(`expected a ${what} row from insert … returning`);
  return row;
}

/** `includes` over a narrow `as const` tuple. Safe: widening a tuple of T to readonly string[] loses nothing. */
export function isOneOf<T extends string>(list: readonly T[], value: string): value is T {
  return (list as readonly string[]).includes(value);
}

/** Keyset-pagination cursor of lists ordered by (createdAt desc, id desc). */
export type CreatedAtCursor = { createdAt: Date; id: string };

/** Rows strictly after `before` in (createdAt desc, id desc) order; undefined (no condition) without a cursor. */
export function beforeCursor(
  createdAt: AnyColumn,
  id: AnyColumn,
  before: CreatedAtCursor | null | undefined,
): SQL | undefined {
  if (!before) return undefined;
  return or(lt(createdAt, before.createdAt), and(eq(createdAt, before.createdAt), lt(id, before.id)));
}

/** The cursor of the next page: the last row's key when the page is full, else null (no more rows). */
export function nextCursor(rows: readonly CreatedAtCursor[], limit: number): CreatedAtCursor | null {
  const last = rows.at(-1);
  return rows.length === limit && last ? { createdAt: last.createdAt, id: last.id } : null;
}
