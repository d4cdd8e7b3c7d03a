// The dependency graph of DESIGN.md, enforced: declared workspace dependencies, actual imports (including
// relative paths that escape a package), subpath exports, forbidden runtimes, and env access.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { describe, expect, test } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Allowed edges between workspaces. tests/ and bench/ may import anything; nothing imports them. */
export const ALLOWED: Record<string, readonly string[]> = {
  "@likewise/web": ["@likewise/db", "@likewise/serving", "@likewise/ui"],
  "@likewise/trainer": ["@likewise/db", "@likewise/kto", "@likewise/serving", "@likewise/synth"],
  "@likewise/db": [],
  "@likewise/kto": [],
  "@likewise/serving": [],
  "@likewise/synth": [],
  "@likewise/ui": [],
};

/** Modules a workspace must never load, whatever its package.json says. */
const FORBIDDEN: Record<string, RegExp[]> = {
  "@likewise/web": [/^@tensorflow\//],
  "@likewise/serving": [/^@tensorflow\//],
  "@likewise/ui": [/^@trpc\//, /^next-auth/, /^drizzle-orm/, /^postgres$/],
  "@likewise/kto": [
    /^(node:)?(fs|fs\/promises|net|http|https|child_process|dgram)$/,
    /^drizzle-orm/,
    /^postgres$/,
  ],
  "@likewise/synth": [/^@tensorflow\//, /^onnxruntime/, /^drizzle-orm/],
};

type Workspace = { name: string; dir: string; pkg: PackageJson };
type PackageJson = {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  exports?: Record<string, string>;
};

function readJson(path: string): PackageJson {
  // safe because every workspace package.json is written by us and parsed here only for the fields above
  return JSON.parse(readFileSync(path, "utf8")) as PackageJson;
}

function workspaces(): Workspace[] {
  const out: Workspace[] = [];
  for (const group of ["apps", "packages"]) {
    for (const entry of readdirSync(join(ROOT, group))) {
      const dir = join(ROOT, group, entry);
      try {
        out.push({
          name: readJson(join(dir, "package.json")).name,
          dir,
          pkg: readJson(join(dir, "package.json")),
        });
      } catch {
        // a folder without package.json is not a workspace
      }
    }
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      if (e === "node_modules" || e === ".next" || e === ".cache" || e.startsWith(".")) continue;
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(ts|tsx|mts|js|mjs)$/.test(e)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

const IMPORT_RE =
  /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^"'`;]*?\sfrom\s+)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)|\brequire\(\s*["']([^"']+)["']\s*\)/g;

/** Every module specifier in a file (static, dynamic, require), comments stripped. */
export function importsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
  const out: string[] = [];
  for (const m of code.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec) out.push(spec);
  }
  return out;
}

const WS = workspaces();
const byName = new Map(WS.map((w) => [w.name, w]));

describe("dependency graph", () => {
  test("every workspace in DESIGN.md exists, and no other", () => {
    expect(WS.map((w) => w.name).sort()).toEqual(Object.keys(ALLOWED).sort());
  });

  test.each(WS.map((w) => [w.name, w] as const))(
    "%s declares only allowed workspace dependencies",
    (name, w) => {
      const declared = Object.keys({
        ...w.pkg.dependencies,
        ...w.pkg.devDependencies,
        ...w.pkg.peerDependencies,
        ...w.pkg.optionalDependencies,
      }).filter((d) => d.startsWith("@likewise/"));
      expect(declared.filter((d) => !(ALLOWED[name] ?? []).includes(d))).toEqual([]);
    },
  );

  test.each(WS.map((w) => [w.name, w] as const))(
    "%s imports only what it may, through public entries",
    (name, w) => {
      const offenders: string[] = [];
      for (const file of sourceFiles(w.dir)) {
        const rel = relative(ROOT, file);
        for (const spec of importsOf(readFileSync(file, "utf8"))) {
          if (spec.startsWith(".")) {
            const target = resolve(dirname(file), spec);
            if (!target.startsWith(w.dir + "/") && target !== w.dir)
              offenders.push(`${rel}: relative import leaves the workspace: ${spec}`);
            continue;
          }
          const m = /^(@likewise\/[^/]+)(\/.*)?$/.exec(spec);
          if (m) {
            const [, pkgName = "", sub] = m;
            if (pkgName === name) offenders.push(`${rel}: imports itself by name: ${spec}`);
            else if (!(ALLOWED[name] ?? []).includes(pkgName))
              offenders.push(`${rel}: ${name} may not import ${spec}`);
            else {
              const exportsMap = byName.get(pkgName)?.pkg.exports ?? {};
              if (!Object.hasOwn(exportsMap, sub ? `.${sub}` : "."))
                offenders.push(`${rel}: ${spec} is not an exported entry`);
            }
            continue;
          }
          // Runtime restrictions bind shipped code; tests and test fixtures (src/testing/) may read files.
          const isTestCode = /\.test\.tsx?$/.test(file) || file.includes("/src/testing/");
          if (!isTestCode)
            for (const re of FORBIDDEN[name] ?? [])
              if (re.test(spec)) offenders.push(`${rel}: ${name} must not load ${spec}`);
        }
      }
      expect(offenders).toEqual([]);
    },
  );

  test("only env.ts files read process.env in apps, packages and scripts", () => {
    const offenders = [...WS.map((w) => w.dir), join(ROOT, "scripts")]
      .flatMap((d) => sourceFiles(d))
      .filter((f) => !/\/env\.ts$/.test(f) && !/\.test\.tsx?$/.test(f) && !/\/next\.config\.ts$/.test(f))
      .filter((f) => /process\.env\b/.test(readFileSync(f, "utf8").replace(/\/\/.*$/gm, "")))
      .map((f) => relative(ROOT, f));
    expect(offenders).toEqual([]);
  });

  test("kto never uses unseeded randomness or the clock", () => {
    const offenders = sourceFiles(join(ROOT, "packages/kto/src"))
      .filter((f) => !/\.test\.ts$/.test(f) && !f.includes("/testing/"))
      .filter((f) => /Math\.random\(|Date\.now\(|new Date\(|performance\.now\(/.test(readFileSync(f, "utf8")))
      .map((f) => relative(ROOT, f));
    expect(offenders).toEqual([]);
  });
});

/** Specifiers of imports that survive compilation: type-only ones (`import type`, all-`type` braces) are erased. */
export function runtimeImportsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
  const out: string[] = [];
  const re =
    /(?:^|[\s;])(import|export)\s+(type\s+)?([^"'`;]*?\sfrom\s+)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;
  for (const m of code.matchAll(re)) {
    if (m[5]) {
      out.push(m[5]);
      continue;
    }
    if (m[2]) continue;
    const clause = (m[3] ?? "").replace(/\sfrom\s+$/, "").trim();
    const braces = /^\{([^}]*)\}$/.exec(clause);
    const names =
      braces?.[1]
        ?.split(",")
        .map((n) => n.trim())
        .filter(Boolean) ?? [];
    if (braces && names.length > 0 && names.every((n) => n.startsWith("type "))) continue;
    if (m[4]) out.push(m[4]);
  }
  return out;
}

const WEB_SRC = join(ROOT, "apps/web/src");
/** Modules client components must never load (server code, drivers, Node built-ins). */
const SERVER_ONLY_SPECIFIERS = [
  /^@likewise\/db$/,
  /^@likewise\/db\/(embedded|testing|queue)/,
  /^@likewise\/serving/,
  /^postgres$/,
  /^drizzle-orm/,
  /^onnxruntime/,
  /^node:/,
  /^next\/headers$/,
];

/** apps/web/src module a web import points at, or null for a package. */
function resolveWebImport(from: string, spec: string): string | null {
  const base = spec.startsWith("~/")
    ? join(WEB_SRC, spec.slice(2))
    : spec.startsWith(".")
      ? resolve(dirname(from), spec)
      : null;
  if (!base) return null;
  for (const c of [base, `${base}.ts`, `${base}.tsx`, join(base, "index.ts"), join(base, "index.tsx")])
    if (statSync(c, { throwIfNoEntry: false })?.isFile()) return c;
  return null;
}

describe("web: client and server code", () => {
  test("no client component reaches server code through its runtime imports (the build-time half of server/only.ts)", () => {
    const clientFiles = sourceFiles(WEB_SRC).filter((f) =>
      /^\s*["']use client["']/.test(readFileSync(f, "utf8")),
    );
    expect(clientFiles.length).toBeGreaterThan(10);
    const offenders: string[] = [];
    for (const entry of clientFiles) {
      const seen = new Set<string>();
      const stack: { file: string; via: string[] }[] = [{ file: entry, via: [] }];
      while (stack.length) {
        const { file, via } = stack.pop() as { file: string; via: string[] };
        if (seen.has(file)) continue;
        seen.add(file);
        const path = [...via, relative(WEB_SRC, file)];
        if (file.startsWith(join(WEB_SRC, "server") + "/") || file === join(WEB_SRC, "env.ts")) {
          offenders.push(path.join(" → "));
          continue;
        }
        for (const spec of runtimeImportsOf(readFileSync(file, "utf8"))) {
          if (SERVER_ONLY_SPECIFIERS.some((re) => re.test(spec)))
            offenders.push(`${path.join(" → ")} → ${spec}`);
          const next = resolveWebImport(file, spec);
          if (next) stack.push({ file: next, via: path });
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});

describe("the checker itself", () => {
  test("runtime imports: type-only imports are erased, mixed ones are kept", () => {
    const src = `import type { A } from "~/server/a";\nimport { type B, type C } from "~/server/b";\nimport { type D, e } from "~/server/d";\nimport f from "./f";\nexport * from "./g";\nconst h = await import("~/server/h");\nimport "./side";`;
    expect(runtimeImportsOf(src)).toEqual(
      ["~/server/d", "./f", "./g", "./side", "~/server/h"].sort((p, q) => src.indexOf(p) - src.indexOf(q)),
    );
  });

  test("finds static, dynamic, type-only and require imports, and ignores comments", () => {
    const src = `import a from "x";\nimport type { B } from '@likewise/db';\nexport { c } from "./c.ts";\n// import "commented";\nconst d = await import("@likewise/kto");\nconst e = require("fs");\nimport "side-effect";`;
    expect(importsOf(src)).toEqual(
      ["x", "@likewise/db", "./c.ts", "side-effect", "@likewise/kto", "fs"].sort(
        (p, q) => src.indexOf(p) - src.indexOf(q),
      ),
    );
  });
});
