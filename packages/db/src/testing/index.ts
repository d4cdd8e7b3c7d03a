// Test factories (openstatus style): every call makes fresh rows with unique ids, so tests never depend on seed
// data or on each other, and never truncate. Import from *.test.ts and tests/ only.
import { createHash, randomUUID } from "node:crypto";

import type { DbOrTx } from "../client.ts";
import type { PromptSource, RoundStatus, UserRole } from "../enums.ts";
import { type Image, recordImage, type RecordImageInput } from "../queries/image.ts";
import {
  type ModelVersion,
  recordModelVersion,
  type RecordModelVersionInput,
} from "../queries/model-version.ts";
import { createPrompt, type Prompt } from "../queries/prompt.ts";
import { createRound, type Round, updateRoundStatus } from "../queries/round.ts";
import { createUser, setUserExcludedFromTraining, type User } from "../queries/user.ts";
import { castVote } from "../queries/vote.ts";

/** A short unique token for names, emails and families. */
export function uniqueId(prefix = "t"): string {
  return `${prefix}-${randomUUID().slice(0, 8)}${randomUUID().slice(0, 4)}`;
}

/** A deterministic-looking but unique sha256 hex string. */
export function fakeSha256(seed: string = randomUUID()): string {
  return createHash("sha256").update(seed).digest("hex");
}

export async function createTestUser(
  db: DbOrTx,
  overrides: {
    email?: string;
    name?: string;
    role?: UserRole;
    trainingConsent?: boolean;
    excludedFromTraining?: boolean;
  } = {},
): Promise<User> {
  // Consent defaults to true here (the product default is false) because most tests exercise the drain.
  const user = await createUser(db, {
    email: overrides.email ?? `${uniqueId("user")}@example.test`,
    name: overrides.name ?? "Test User",
    role: overrides.role,
    trainingConsent: overrides.trainingConsent ?? true,
  });
  if (overrides.excludedFromTraining)
    return setUserExcludedFromTraining(db, { userId: user.id, excluded: true });
  return user;
}

export async function createTestPrompt(
  db: DbOrTx,
  overrides: { text?: string; source?: PromptSource; isActive?: boolean } = {},
): Promise<Prompt> {
  return createPrompt(db, {
    text: overrides.text ?? `a red circle on blue ${uniqueId("p")}`,
    source: overrides.source ?? "curated",
    isActive: overrides.isActive,
  });
}

/** A registered version of its own fresh family unless `family` is given (so label pools never overlap). */
export async function createTestModelVersion(
  db: DbOrTx,
  overrides: Partial<RecordModelVersionInput> = {},
): Promise<ModelVersion> {
  const family = overrides.family ?? uniqueId("fam");
  return recordModelVersion(db, {
    family,
    status: "registered",
    artifactUri: `file:///tmp/likewise-test/${family}`,
    sha256: fakeSha256(),
    ...overrides,
  });
}

/** An image; creates a prompt and a model version when not given. */
export async function createTestImage(db: DbOrTx, overrides: Partial<RecordImageInput> = {}): Promise<Image> {
  const promptId = overrides.promptId ?? (await createTestPrompt(db)).id;
  const modelVersionId = overrides.modelVersionId ?? (await createTestModelVersion(db)).id;
  return recordImage(db, {
    promptId,
    modelVersionId,
    seed: Math.floor(Math.random() * 2 ** 31),
    sampler: "ddim",
    steps: 20,
    guidance: 3,
    eta: 0,
    blobKey: fakeSha256(),
    width: 32,
    height: 32,
    ...overrides,
  });
}

/** A round moved along the legal path to `status` (default `draining`, ready to claim). */
export async function createTestRound(
  db: DbOrTx,
  input: { parentModelVersionId: string; status?: RoundStatus; objectiveConfig?: Record<string, unknown> },
): Promise<Round> {
  let round = await createRound(db, {
    trigger: "manual",
    parentModelVersionId: input.parentModelVersionId,
    objectiveConfig: input.objectiveConfig,
  });
  const path: RoundStatus[] = ["draining", "training", "exporting", "evaluating"];
  const target = input.status ?? "draining";
  if (target === "queued") return round;
  for (const step of path) {
    round = (await updateRoundStatus(db, { roundId: round.id, to: step })).round;
    if (step === target) return round;
  }
  throw new Error(`createTestRound: cannot reach ${target} by the happy path`);
}

/**
 * A fresh model family with `users × images` votes (like/dislike alternating, so the classes balance) by consenting
 * users. Returns the rows and the label ids, ascending.
 */
export async function createTestLabelPool(db: DbOrTx, opts: { users: number; images: number }) {
  const version = await createTestModelVersion(db);
  const prompt = await createTestPrompt(db);
  const users = await Promise.all(Array.from({ length: opts.users }, () => createTestUser(db)));
  const images = await Promise.all(
    Array.from({ length: opts.images }, () =>
      createTestImage(db, { modelVersionId: version.id, promptId: prompt.id }),
    ),
  );
  const labelIds: number[] = [];
  for (const [ui, u] of users.entries()) {
    const votes = await Promise.all(
      images.map((img, ii) =>
        castVote(db, { userId: u.id, imageId: img.id, value: (ui + ii) % 2 === 0 ? "like" : "dislike" }),
      ),
    );
    for (const v of votes) if (v.labelId !== null) labelIds.push(v.labelId);
  }
  return { version, prompt, users, images, labelIds: labelIds.sort((a, b) => a - b) };
}
