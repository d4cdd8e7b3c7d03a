import "server-only";

import { TRPCError } from "@trpc/server";
import { z } from "zod";

import {
  abortExperimentStart,
  beginExperimentStart,
  type Db,
  type Experiment,
  getExperiment,
  listServingHosts,
  type ServingHostRow,
  startExperiment,
} from "@likewise/db";

export type HostWaitOptions = {
  /** Give up (and put the experiment back to draft) after this long. */
  timeoutMs: number;
  pollMs: number;
  /** A host counts when it reported within this window. */
  seenWithinMs: number;
  /** Only hosts of these kinds (e.g. "trainer"); all kinds when omitted. */
  hostKinds?: readonly string[];
};

// The part of a serving host's reported status (packages/serving HostStatus) readiness depends on.
const ReportedStatus = z.object({
  versions: z
    .array(
      z.object({
        id: z.string(),
        state: z.string(),
        error: z.object({ code: z.string(), message: z.string() }).nullish(),
      }),
    )
    .default([]),
});

export type HostReadiness = {
  hostId: string;
  kind: string;
  ready: string[];
  pending: string[];
  failed: string[];
};

export function hostReadiness(host: ServingHostRow, versionIds: readonly string[]): HostReadiness {
  const parsed = ReportedStatus.safeParse(host.status);
  const versions = parsed.success ? parsed.data.versions : [];
  const state = (id: string) => versions.find((v) => v.id === id)?.state;
  return {
    hostId: host.id,
    kind: host.kind,
    ready: versionIds.filter((id) => state(id) === "ready"),
    pending: versionIds.filter((id) => state(id) !== "ready" && state(id) !== "failed"),
    failed: versionIds.filter((id) => state(id) === "failed"),
  };
}

/**
 * Starts an experiment so that no user is assigned before its versions serve: draft → starting (the hosts are
 * notified and load its versions), wait until every live serving host reports each version ready, then running.
 * A host that refuses a version, or a timeout, puts the experiment back to draft with an error that names the
 * hosts and versions. With no live host there is nothing to wait for (hosts load the target when they come up).
 */
export async function startExperimentOnHosts(
  db: Db,
  experimentId: string,
  o: HostWaitOptions,
): Promise<{ experiment: Experiment; hosts: HostReadiness[] }> {
  await beginExperimentStart(db, { experimentId });
  try {
    const exp = await getExperiment(db, experimentId);
    const versionIds = [...new Set(exp.variants.map((v) => v.modelVersionId))];
    const deadline = Date.now() + o.timeoutMs;
    for (;;) {
      const hosts = (await listServingHosts(db, { seenWithinMs: o.seenWithinMs }))
        .filter((h) => !o.hostKinds || o.hostKinds.includes(h.kind))
        .map((h) => hostReadiness(h, versionIds));
      const failed = hosts.filter((h) => h.failed.length > 0);
      if (failed.length > 0) {
        throw new TRPCError({
          code: "PRECONDITION_FAILED",
          message: `serving hosts could not load the experiment's versions: ${failed.map((h) => `${h.hostId} (${h.failed.join(", ")})`).join("; ")}`,
        });
      }
      if (hosts.every((h) => h.pending.length === 0)) {
        const experiment = await startExperiment(db, { experimentId });
        return { experiment, hosts };
      }
      if (Date.now() >= deadline) {
        const pending = hosts.filter((h) => h.pending.length > 0);
        throw new TRPCError({
          code: "TIMEOUT",
          message: `serving hosts not ready after ${Math.round(o.timeoutMs / 1000)} s: ${pending.map((h) => `${h.hostId} still loading ${h.pending.join(", ")}`).join("; ")}; the experiment stays a draft`,
        });
      }
      await new Promise((r) => setTimeout(r, o.pollMs));
    }
  } catch (e) {
    await abortExperimentStart(db, { experimentId }).catch(() => undefined);
    throw e;
  }
}
