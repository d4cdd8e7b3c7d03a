/** `insert … returning` yields exactly one row per inserted row; an empty result here is a driver bug. */
export function mustExist<T>(row: T | undefined, what: string): T {
  if (row === undefined) throw new Error(`expected a ${what} row from insert … returning`);
  return row;
}

/** `includes` over a narrow `as const` tuple. Safe: widening a tuple of T to readonly string[] loses nothing. */
export function isOneOf<T extends string>(list: readonly T[], value: string): value is T {
  return (list as readonly string[]).includes(value);
}
