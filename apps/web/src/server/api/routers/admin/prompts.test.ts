// The admin's prompt-list import (and single add) against hostile files: wrong types, oversized, binary, cut
// mid-character, control and invisible characters, markup and SQL. Each gives a typed BAD_REQUEST for the whole
// input (nothing added) or an error on its own line (the other lines still added), never an internal error.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

import { createDb } from "@likewise/db";
import { createTestUser } from "@likewise/db/testing";
import { parseManifest, Tokenizer } from "@likewise/serving";

import { PROMPT_IMPORT_MAX_LINES } from "~/lib/schemas";

import { createRateLimiters } from "../../../rate-limit";
import type { WebServices } from "../../../services";
import { createCaller } from "../../root";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../../../../../..");
const manifest = parseManifest(JSON.parse(readFileSync(join(ROOT, "models/base/manifest.json"), "utf8")));
// A word only this run's model knows, so this file's prompts never collide with another test's.
const word = `zq${Date.now().toString(36)}`;
const tokenizer = new Tokenizer([...manifest.vocab, word], manifest.contextLength);
const handle = createDb(inject("databaseUrl"), { max: 2 });

let withVocab: ReturnType<typeof createCaller>;
let noModel: ReturnType<typeof createCaller>;

beforeAll(async () => {
  const admin = await createTestUser(handle.db, { role: "admin" });
  const caller = (vocabulary: WebServices["vocabulary"]) =>
    createCaller({
      db: handle.db,
      viewer: { id: admin.id, email: admin.email, role: "admin" },
      ip: "192.0.2.1",
      limits: createRateLimiters(1000),
      services: {
        vocabulary,
        queue: () => Promise.reject(new Error("no queue in this test")),
        experimentHosts: { timeoutMs: 1, pollMs: 1, seenWithinMs: 1 },
      },
    });
  withVocab = caller(() => Promise.resolve({ tokenizer, modelVersionId: "prompts-test" }));
  noModel = caller(() => Promise.resolve(null));
});

afterAll(() => handle.close());

/** Prompts of this run in the pool. */
async function stored(): Promise<string[]> {
  const rows = await handle.sql<{ text: string }[]>`select text from prompt where text like ${`%${word}%`}`;
  return rows.map((r) => r.text).sort();
}

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  if (!(e instanceof TRPCError)) throw new Error(`expected a TRPCError, got ${String(e)}`);
  return { code: e.code, message: e.message };
}

describe("admin.prompts.import", () => {
  it("refuses wrong types and oversized inputs as a whole, naming the limit; nothing is added", async () => {
    const before = await stored();
    for (const bad of [42, null, ["a red circle"], { text: "a red circle" }, true])
      expect((await refusal(withVocab.admin.prompts.import({ text: bad as never }))).code).toBe(
        "BAD_REQUEST",
      );
    expect((await refusal(withVocab.admin.prompts.import({} as never))).code).toBe("BAD_REQUEST");

    const big = await refusal(
      withVocab.admin.prompts.import({ text: `a red circle ${word}\n`.repeat(8_000) }),
    );
    expect(big).toEqual({
      code: "BAD_REQUEST",
      message: expect.stringContaining("at most 100 kB") as string,
    });

    const lines = Array.from({ length: PROMPT_IMPORT_MAX_LINES + 1 }, (_, i) => `a red circle ${word} ${i}`);
    const many = await refusal(withVocab.admin.prompts.import({ text: lines.join("\n") }));
    expect(many).toEqual({
      code: "BAD_REQUEST",
      message: `at most ${PROMPT_IMPORT_MAX_LINES} lines per import (this one has ${PROMPT_IMPORT_MAX_LINES + 1})`,
    });
    expect(await stored()).toEqual(before);
  });

  it("refuses a binary file (as the browser reads one: NUL bytes, U+FFFD) before adding any line", async () => {
    // The first bytes of a PNG, decoded as UTF-8 with replacement, as File.text() does, after a valid line.
    const png = new TextDecoder().decode(
      Uint8Array.from([
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52,
      ]),
    );
    for (const caller of [withVocab, noModel]) {
      const r = await refusal(caller.admin.prompts.import({ text: `a red circle ${word} first\n${png}` }));
      expect(r).toEqual({
        code: "BAD_REQUEST",
        message:
          "this is not a text file (it contains NUL bytes): import plain UTF-8 text, one prompt per line",
      });
    }
    expect(await stored()).toEqual([]);
  });

  it("gives each bad line its own error and adds the good ones (with and without a production model)", async () => {
    const good = [`a red circle ${word} at the top`, `a blue square ${word} on a plain background`];
    const cut = new TextDecoder().decode(new TextEncoder().encode(`a green star ${word} é`).slice(0, -1));
    const hostile: [string, RegExp][] = [
      [`a red${"\u0007"} circle ${word}`, /^contains the control character U\+0007$/],
      [`a red\tcircle ${word}`, /^contains the control character U\+0009$/],
      [`a red circle ${word} \u202Eelcric`, /^contains the invisible formatting character U\+202E$/],
      [`a red\u200Bcircle ${word}`, /^contains the invisible formatting character U\+200B$/],
      [cut, /^contains U\+FFFD: bytes that are not UTF-8 text, or a file cut mid-character$/],
      [`a red circle ${word} \uD800`, /^contains an unpaired surrogate \(U\+D800\)/],
      ["x".repeat(300), /at most \d+ characters/],
    ];
    for (const [caller, suffix] of [
      [withVocab, "left"],
      [noModel, "right"],
    ] as const) {
      const lines = [
        `# a comment ${word}`,
        ...good.map((g) => `${g} ${suffix}`),
        "",
        ...hostile.map(([t]) => t),
      ];
      const r = await caller.admin.prompts.import({ text: `\uFEFF${lines.join("\r\n")}\r\n` });
      expect(r.results.filter((x) => x.status === "added").map((x) => x.line)).toEqual([2, 3]);
      const errors = r.results.filter((x) => x.status === "error");
      expect(errors.map((x) => x.line)).toEqual(hostile.map((_, i) => 5 + i));
      errors.forEach((x, i) => expect(x.message).toMatch(hostile[i]?.[1] ?? /never/));
      expect(r).toMatchObject({ added: 2, duplicates: 0, errors: hostile.length });
    }
    expect(await stored()).toEqual(
      [...good.map((g) => `${g} left`), ...good.map((g) => `${g} right`)].sort(),
    );
  });

  it("stores markup and SQL verbatim when the model knows the words, refuses them when it does not", async () => {
    const sql = `a red circle ${word} '); drop table prompt; --`;
    const html = `<b>a red circle</b> ${word}`;
    const r = await withVocab.admin.prompts.import({ text: `${sql}\n${html}` });
    expect(r.results.map((x) => [x.status, x.message])).toEqual([
      ["error", 'the model does not know the words "drop", "table", "prompt"'],
      ["error", 'the model does not know the word "b"'],
    ]);
    const n = await noModel.admin.prompts.import({ text: `${sql}\n${html}\n${sql}` });
    expect(n.results.map((x) => x.status)).toEqual(["added", "added", "duplicate"]);
    expect(await stored()).toEqual(expect.arrayContaining([sql, html]));
  });
});

describe("admin.prompts.add", () => {
  it("refuses control and invisible characters with or without a production model", async () => {
    for (const caller of [withVocab, noModel]) {
      const r = await refusal(caller.admin.prompts.add({ text: `a red\u0000circle ${word}` }));
      expect(r).toEqual({ code: "BAD_REQUEST", message: "contains the control character U+0000" });
      expect((await refusal(caller.admin.prompts.add({ text: `a red circle ${word}\u2066` }))).code).toBe(
        "BAD_REQUEST",
      );
    }
  });
});
