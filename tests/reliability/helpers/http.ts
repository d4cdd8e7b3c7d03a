// HTTP clients for the running web app: next-auth credentials sign-in (CSRF token + cookie, as the browser does it),
// tRPC calls over HTTP (superjson envelope), and the public API with a key.

export type HttpReply = { status: number; headers: Headers; text: string; json: unknown };

async function reply(res: Response): Promise<HttpReply> {
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text) as unknown;
  } catch {
    // not JSON (HTML page, redirect)
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** `name=value` pairs of every Set-Cookie, for a Cookie header. */
export function cookiesOf(res: { headers: Headers }): Map<string, string> {
  const jar = new Map<string, string>();
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(";");
    const i = pair?.indexOf("=") ?? -1;
    if (pair && i > 0) jar.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim());
  }
  return jar;
}

export function cookieHeader(jar: Map<string, string>): string {
  return [...jar.entries()].map(([k, v]) => `${k}=${v}`).join("; ");
}

export const SESSION_COOKIE = "next-auth.session-token";

export type SignInResult = {
  /** Cookie header carrying the session (empty when sign-in failed). */
  cookie: string;
  /** The raw Set-Cookie of the session, for its attributes. */
  sessionSetCookie: string | undefined;
  status: number;
  body: HttpReply;
};

/** next-auth v4 credentials sign-in: GET /api/auth/csrf (token + cookie), then POST the form with both. */
export async function signIn(
  baseUrl: string,
  email: string,
  password: string,
  opts: { csrf?: "ok" | "missing" | "wrong"; headers?: Record<string, string> } = {},
): Promise<SignInResult> {
  return postCredentials(baseUrl, await csrfToken(baseUrl, opts.headers), email, password, opts);
}

export type CsrfToken = { token: string; cookie: string };

/** next-auth's CSRF token and the cookie it is checked against (reusable for several sign-in posts). */
export async function csrfToken(baseUrl: string, headers?: Record<string, string>): Promise<CsrfToken> {
  const res = await fetch(`${baseUrl}/api/auth/csrf`, { headers });
  const { csrfToken: token } = (await res.json()) as { csrfToken: string };
  return { token, cookie: cookieHeader(cookiesOf(res)) };
}

/** The credentials form POST of a sign-in, with a token from csrfToken. */
export async function postCredentials(
  baseUrl: string,
  csrf: CsrfToken,
  email: string,
  password: string,
  opts: { csrf?: "ok" | "missing" | "wrong"; headers?: Record<string, string> } = {},
): Promise<SignInResult> {
  const form = new URLSearchParams({ email, password, callbackUrl: baseUrl, json: "true" });
  if (opts.csrf !== "missing")
    form.set("csrfToken", opts.csrf === "wrong" ? `${csrf.token.slice(0, -4)}beef` : csrf.token);
  const res = await fetch(`${baseUrl}/api/auth/callback/credentials`, {
    method: "POST",
    headers: {
      ...opts.headers,
      "content-type": "application/x-www-form-urlencoded",
      cookie: csrf.cookie,
    },
    body: form,
    redirect: "manual",
  });
  const sessionSetCookie = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  const session = cookiesOf(res).get(SESSION_COOKIE);
  return {
    cookie: session ? `${SESSION_COOKIE}=${session}` : "",
    sessionSetCookie,
    status: res.status,
    body: await reply(res),
  };
}

export type ProcedureType = "query" | "mutation";

/**
 * One tRPC call over HTTP (non-batched, superjson envelope `{ json }`). `raw` sends that exact body (mutation) or
 * `input` query parameter (query) instead of an encoded input.
 */
export async function trpcCall(
  baseUrl: string,
  path: string,
  type: ProcedureType,
  input: unknown,
  opts: { cookie?: string; raw?: string; headers?: Record<string, string> } = {},
): Promise<HttpReply> {
  const encoded = opts.raw ?? (input === undefined ? undefined : JSON.stringify({ json: input }));
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.cookie) headers.cookie = opts.cookie;
  if (type === "query") {
    const url = new URL(`/api/trpc/${path}`, baseUrl);
    if (encoded !== undefined) url.searchParams.set("input", encoded);
    return reply(await fetch(url, { headers, signal: AbortSignal.timeout(30_000) }));
  }
  headers["content-type"] = "application/json";
  return reply(
    await fetch(`${baseUrl}/api/trpc/${path}`, {
      method: "POST",
      headers,
      body: encoded ?? "",
      signal: AbortSignal.timeout(30_000),
    }),
  );
}

/** The tRPC error code of a reply (`error.json.data.code`), or null for a success. */
export function trpcCode(r: HttpReply): string | null {
  const data = (r.json as { error?: { json?: { data?: { code?: string } } } } | null)?.error?.json?.data;
  return r.status < 300 ? null : (data?.code ?? `HTTP ${r.status}`);
}
