/** `insert … returning` yields exactly one row per inserted row; an empty result here is a driver bug. */
export function mustExist<T>(row: T | undefined, what: string): T {
  if (row === undefined) throw new Error(`expected a ${what} row from insert … returning`);
  return row;
}
