// Imported for its side effect by every module of server code (src/server, env.ts): it refuses to run in a
// browser. It replaces the `server-only` package, which throws outside React Server Components and so cannot be
// used by the Pages Router API route that serves the vote load (pages/api/v1/votes.ts). The build-time half of the
// guard is tests/architecture.test.ts: no client component reaches server code through its imports.
if (typeof window !== "undefined")
  throw new Error("server code (apps/web/src/server) was loaded in a browser");

export {};
