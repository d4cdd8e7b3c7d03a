// Dataset export of a round's frozen manifest: JSONL, one label per line, in ascending label id (docs/dataset-export.md).
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { type Db, getRound, listRoundLabels } from "@likewise/db";
import type { BlobStore } from "@likewise/serving";

export type DatasetLine = {
  labelId: number;
  /** Path of the PNG relative to the JSONL file (images/<sha256>.png). */
  image: string;
  imageId: string;
  prompt: string;
  /** "like" | "dislike"; `label` is the same as +1 / −1. */
  value: "like" | "dislike";
  label: 1 | -1;
  userId: string;
  /** The model version that generated the image; `variant` says whether it was the round's parent or another one. */
  modelVersionId: string;
  variant: "parent" | "other";
  seed: number;
  roundId: string;
};

/** Writes `<dir>/labels.jsonl` + `<dir>/images/*.png`; returns the number of lines. NOT_FOUND for an unknown round. */
export async function exportRoundDataset(
  deps: { db: Db; blobs: BlobStore },
  roundId: string,
  dir: string,
): Promise<number> {
  const round = await getRound(deps.db, roundId);
  const labels = await listRoundLabels(deps.db, { roundId });
  await mkdir(join(dir, "images"), { recursive: true });
  const lines: string[] = [];
  for (const l of labels) {
    const rel = `images/${l.blobKey}.png`;
    const bytes = await deps.blobs.get(l.blobKey);
    if (!bytes) throw new Error(`image ${l.imageId}: blob ${l.blobKey} is missing`);
    await writeFile(join(dir, rel), bytes);
    const line: DatasetLine = {
      labelId: l.labelId,
      image: rel,
      imageId: l.imageId,
      prompt: l.promptText,
      value: l.value,
      label: l.value === "like" ? 1 : -1,
      userId: l.userId,
      modelVersionId: l.modelVersionId,
      variant: l.modelVersionId === round.parentModelVersionId ? "parent" : "other",
      seed: l.seed,
      roundId,
    };
    lines.push(JSON.stringify(line));
  }
  await writeFile(join(dir, "labels.jsonl"), lines.join("\n") + (lines.length ? "\n" : ""));
  return lines.length;
}
