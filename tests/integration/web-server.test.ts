// The production web server's own command line (apps/web/src/serve.ts), refused before Next or the database are
// touched: a bad port, and a start without NODE_ENV=production, each exit 2 with a message instead of a stack trace.
import { spawnSync } from "node:child_process";

import { describe, expect, it } from "vitest";

import { webServerCommand } from "../../scripts/web-server.ts";
import { testEnv } from "../helpers/env.ts";

function serve(args: string[], env: Record<string, string>) {
  const c = webServerCommand({ port: 0 });
  // webServerCommand ends with "-p 0": the extra arguments come after and override it.
  return spawnSync(c.cmd, [...c.args, ...args], {
    cwd: c.cwd,
    env: { ...testEnv.inherited, ...c.env, ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
}

describe("the production web server's command line", () => {
  it("refuses a port that is not one", () => {
    const r = serve(["-p", "http"], {});
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("-p must be a port number, not http");
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("refuses an unknown option with the usage", () => {
    const r = serve(["--turbo"], {});
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("usage: serve.ts [-p PORT] [-H HOST]");
  });

  it("refuses to start outside production", () => {
    const r = serve([], { NODE_ENV: "development" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("the production server needs NODE_ENV=production");
  });
});
