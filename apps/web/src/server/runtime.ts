import "~/server/only";

import { embeddedConnectionUrl } from "@likewise/db";

import { env } from "~/env";

import { clientAddress, peerAddress } from "./client-address";
import { getDb } from "./db";
import { getLimits } from "./limits";
import { startGuardrailMonitor } from "./experiments/guardrails";
import { createWebServices, type WebServices } from "./services";

export { getLimits };

// Process-wide singletons, kept on globalThis so dev-mode reloads reuse them.
const g = globalThis as unknown as {
  __likewiseServices?: WebServices;
  __likewiseGuardrails?: () => void;
};

/** How often this server checks running experiments' guardrails (the automatic stop; opt-in per experiment). */
const GUARDRAIL_CHECK_INTERVAL_MS = 30_000;

export function getServices(): WebServices {
  // Started with the first request's services: a serving web process watches the experiments it serves.
  g.__likewiseGuardrails ??= startGuardrailMonitor(() => getDb().db, GUARDRAIL_CHECK_INTERVAL_MS);
  return (g.__likewiseServices ??= createWebServices({
    home: env.home,
    databaseUrl: () => env.databaseUrl ?? embeddedConnectionUrl(env.home),
  }));
}

/**
 * The client's address for per-IP limits: the socket's peer, or with LIKEWISE_TRUST_PROXY = N the N-th
 * X-Forwarded-For entry from the right (client-address.ts). "unknown" when the socket address was not recorded.
 */
export function clientIp(headers: Headers): string {
  return clientAddress(peerAddress(headers), headers.get("x-forwarded-for"), env.trustProxyHops);
}
