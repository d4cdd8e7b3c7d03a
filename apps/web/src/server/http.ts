import "~/server/only";

import type { z } from "zod";

/** Request bodies above this are refused with 413 before they are read (votes and prompts are a few hundred bytes). */
export const MAX_BODY_BYTES = 128 * 1024;

export function jsonError(
  status: number,
  code: string,
  message: string,
  headers: HeadersInit = {},
): Response {
  return Response.json({ error: { code, message } }, { status, headers });
}

/** The body as text, or a 413 response when it is larger than `max` bytes (declared or actual). */
export async function readBodyLimited(req: Request, max = MAX_BODY_BYTES): Promise<string | Response> {
  const declared = Number(req.headers.get("content-length") ?? "NaN");
  const tooLarge = () => jsonError(413, "PAYLOAD_TOO_LARGE", `request body larger than ${max} bytes`);
  if (Number.isFinite(declared) && declared > max) return tooLarge();
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** 400 for query or body input that failed its zod schema, naming each offending field. */
export function invalidInput(error: z.ZodError): Response {
  return jsonError(
    400,
    "BAD_REQUEST",
    error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
  );
}
