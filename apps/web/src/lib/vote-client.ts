"use client";

import { TRPCClientError } from "@trpc/client";

/** Retry a vote only when the server may not have seen it (network failure, 5xx); the request id makes that safe. */
export function shouldRetryVote(failureCount: number, error: unknown): boolean {
  if (failureCount >= 3) return false;
  if (error instanceof TRPCClientError) {
    const status = (error.data as { httpStatus?: number } | undefined)?.httpStatus;
    return status === undefined || status >= 500;
  }
  return true;
}

export function newRequestId(): string {
  return crypto.randomUUID();
}

export function imageUrl(blobKey: string): string {
  return `/api/images/${blobKey}`;
}
