// The rater simulator: simulated users sign up (with training consent), page through the feed of the production
// model the way the web's feed does (unrated visible images, newest first), look at each actual image (PNG from the
// blob store → the shapes-world judge) and like or dislike it per a @likewise/synth rater spec. Deterministic under
// its seed: persona per user and vote per (user, image) come from seeded streams.
import { createHash, randomBytes, randomUUID } from "node:crypto";

import {
  castVote,
  createApiKey,
  createUser,
  type Db,
  findUserByEmail,
  getProductionModelVersion,
  listFeedPage,
  recordExposures,
} from "@likewise/db";
import { type BlobStore, decodePng } from "@likewise/serving";
import { judgeFeatures, judgeImage, parseCaption, type RaterSpec, simulateVote } from "@likewise/synth";

export type SimulateOptions = {
  rater: RaterSpec;
  votes: number;
  /** Simulated users; votes are spread over them round-robin (default ⌈votes / 40⌉). */
  users?: number;
  seed?: number;
  /** Whose feed (default: production). */
  modelVersionId?: string;
  onProgress?: (done: number, total: number) => void;
};

export type SimulateResult = { votes: number; likes: number; users: number; exhaustedUsers: number };

/** Votes through the database verbs (the web's feed and vote paths, minus HTTP). */
export async function simulateVotes(
  deps: { db: Db; blobs: BlobStore },
  o: SimulateOptions,
): Promise<SimulateResult> {
  if (!Number.isInteger(o.votes) || o.votes < 1)
    throw new Error(`votes must be a positive integer, got ${o.votes}`);
  const seed = o.seed ?? 1;
  const nUsers = o.users ?? Math.max(1, Math.ceil(o.votes / 40));
  const versionId = o.modelVersionId ?? (await getProductionModelVersion(deps.db)).id;
  const users = [];
  for (let i = 0; i < nUsers; i++) {
    const email = `sim-${o.rater.name}-${seed}-${i}@simulated.likewise.test`;
    users.push(
      (await findUserByEmail(deps.db, email)) ??
        (await createUser(deps.db, { email, name: `Simulated ${i}`, trainingConsent: true })),
    );
  }
  const exhausted = new Set<number>();
  const skipped = new Map<number, string[]>();
  let votes = 0;
  let likes = 0;
  let u = 0;
  while (votes < o.votes && exhausted.size < users.length) {
    const k = u++ % users.length;
    const user = users[k];
    if (!user || exhausted.has(k)) continue;
    const excludeIds = skipped.get(k) ?? [];
    const page = await listFeedPage(deps.db, {
      userId: user.id,
      modelVersionId: versionId,
      limit: 8,
      excludeIds,
    });
    if (page.images.length === 0) {
      exhausted.add(k);
      continue;
    }
    await recordExposures(deps.db, { userId: user.id, imageIds: page.images.map((i) => i.id) });
    for (const img of page.images) {
      if (votes >= o.votes) break;
      const png = await deps.blobs.get(img.blobKey);
      let description;
      try {
        description = parseCaption(img.promptText);
      } catch {
        description = null;
      }
      if (!png || !description) {
        // A prompt outside the shapes grammar or a missing blob: the simulated user scrolls past it.
        excludeIds.push(img.id);
        skipped.set(k, excludeIds);
        continue;
      }
      const features = judgeFeatures(judgeImage(decodePng(png), description));
      const v = simulateVote(o.rater, features, { seed, raterId: user.id, imageId: img.id });
      await castVote(deps.db, { userId: user.id, imageId: img.id, value: v.isLiked ? "like" : "dislike" });
      votes++;
      if (v.isLiked) likes++;
      o.onProgress?.(votes, o.votes);
    }
  }
  return { votes, likes, users: users.length, exhaustedUsers: exhausted.size };
}

export type HttpSimulateOptions = SimulateOptions & {
  /** The web app's origin, e.g. http://localhost:3000. */
  baseUrl: string;
};

type FeedResponse = { images: { id: string; url: string; prompt: string }[] };

/**
 * Votes through the web's public HTTP API (docs/api.md): each simulated user gets an API key (issued the way Admin →
 * API keys does: random key, only its sha256 stored), pages `GET /api/v1/feed`, downloads each image by its URL,
 * judges it and `POST /api/v1/votes` with a fresh request id. Rate limits (429) are waited out per Retry-After.
 */
export async function simulateVotesHttp(deps: { db: Db }, o: HttpSimulateOptions): Promise<SimulateResult> {
  if (!Number.isInteger(o.votes) || o.votes < 1)
    throw new Error(`votes must be a positive integer, got ${o.votes}`);
  const seed = o.seed ?? 1;
  const nUsers = o.users ?? Math.max(1, Math.ceil(o.votes / 40));
  const base = o.baseUrl.replace(/\/$/, "");
  const users: { id: string; key: string; skipped: string[] }[] = [];
  for (let i = 0; i < nUsers; i++) {
    const email = `sim-${o.rater.name}-${seed}-${i}@simulated.likewise.test`;
    const user =
      (await findUserByEmail(deps.db, email)) ??
      (await createUser(deps.db, { email, name: `Simulated ${i}`, trainingConsent: true }));
    const key = `lw_${randomBytes(32).toString("base64url")}`;
    await createApiKey(deps.db, {
      name: `simulator ${seed}`,
      prefix: key.slice(0, 10),
      keyHash: createHash("sha256").update(key).digest("hex"),
      userId: user.id,
    });
    users.push({ id: user.id, key, skipped: [] });
  }
  const call = async (path: string, key: string, init: RequestInit = {}): Promise<Response> => {
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${base}${path}`, {
        ...init,
        headers: { ...init.headers, authorization: `Bearer ${key}` },
      });
      if (res.status !== 429 || attempt >= 20) return res;
      await new Promise((r) =>
        setTimeout(r, 1000 * Math.max(1, Number(res.headers.get("retry-after") ?? 1))),
      );
    }
  };
  const exhausted = new Set<number>();
  let votes = 0;
  let likes = 0;
  for (let u = 0; votes < o.votes && exhausted.size < users.length; u++) {
    const k = u % users.length;
    const user = users[k];
    if (!user || exhausted.has(k)) continue;
    const q = new URLSearchParams({
      limit: "8",
      ...(user.skipped.length ? { exclude: user.skipped.slice(-200).join(",") } : {}),
    });
    const res = await call(`/api/v1/feed?${q.toString()}`, user.key);
    if (!res.ok) throw new Error(`GET /api/v1/feed: ${res.status} ${await res.text()}`);
    const feed = (await res.json()) as FeedResponse; // the documented v1 response shape
    if (feed.images.length === 0) {
      exhausted.add(k);
      continue;
    }
    for (const img of feed.images) {
      if (votes >= o.votes) break;
      let description;
      try {
        description = parseCaption(img.prompt);
      } catch {
        description = null;
      }
      const png = await fetch(img.url.startsWith("http") ? img.url : `${base}${img.url}`);
      if (!png.ok || !description) {
        user.skipped.push(img.id);
        continue;
      }
      const features = judgeFeatures(
        judgeImage(decodePng(new Uint8Array(await png.arrayBuffer())), description),
      );
      const v = simulateVote(o.rater, features, { seed, raterId: user.id, imageId: img.id });
      const sent = await call("/api/v1/votes", user.key, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          imageId: img.id,
          value: v.isLiked ? "like" : "dislike",
          requestId: randomUUID(),
        }),
      });
      if (!sent.ok) throw new Error(`POST /api/v1/votes: ${sent.status} ${await sent.text()}`);
      votes++;
      if (v.isLiked) likes++;
      o.onProgress?.(votes, o.votes);
    }
  }
  return { votes, likes, users: users.length, exhaustedUsers: exhausted.size };
}
