import { TRPCClientError } from "@trpc/client";

/** A message to show for a failed call: the server's text for expected errors, a generic line otherwise. */
export function errorMessage(e: unknown): string {
  if (e instanceof TRPCClientError) {
    const data = e.data as
      | {
          code?: string;
          zodError?: { formErrors: string[]; fieldErrors: Record<string, string[] | undefined> } | null;
        }
      | undefined;
    const z = data?.zodError;
    if (z) {
      const first = [...z.formErrors, ...Object.values(z.fieldErrors).flat()].find(Boolean);
      if (first) return first;
    }
    if (data?.code === "INTERNAL_SERVER_ERROR") return "something went wrong on our side; try again";
    return e.message;
  }
  return "network error; check your connection";
}
