// One flat config for the whole workspace: base rules plus the boundary rules of ARCHITECTURE.md.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

const restrict = (patterns, paths = []) => ({
  "no-restricted-imports": ["error", { patterns, paths }],
});

export default tseslint.config(
  {
    ignores: [
      "**/node_modules/**",
      "**/.next/**",
      "**/.next-e2e/**",
      "**/.next-reliability/**",
      "**/.cache/**",
      ".likewise/**",
      "drizzle/**",
      "bench/results/**",
      "models/**",
      "**/next-env.d.ts",
      "**/*.py",
      "**/scratch/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-non-null-assertion": "error",
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { attributes: false } }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/restrict-template-expressions": [
        "error",
        { allowNumber: true, allowBoolean: true },
      ],
    },
  },
  { files: ["**/*.js", "**/*.mjs"], ...tseslint.configs.disableTypeChecked },
  // Only env.ts files read process.env.
  {
    files: ["apps/*/src/**/*.{ts,tsx}", "packages/*/src/**/*.{ts,tsx}", "scripts/**/*.ts"],
    ignores: ["**/env.ts", "**/*.test.ts", "**/*.test.tsx"],
    rules: {
      "no-restricted-properties": [
        "error",
        { object: "process", property: "env", message: "Read configuration in env.ts and pass it down." },
      ],
    },
  },
  // Packages are leaves.
  {
    files: ["packages/*/src/**/*.{ts,tsx}"],
    rules: restrict([{ group: ["@likewise/*"], message: "Packages import no workspace package." }]),
  },
  // kto is pure compute: no I/O, no clock, no unseeded randomness.
  {
    files: ["packages/kto/src/**/*.ts"],
    ignores: ["packages/kto/src/**/*.test.ts", "packages/kto/src/testing/**"],
    rules: {
      ...restrict([
        { group: ["@likewise/*"], message: "Packages import no workspace package." },
        {
          group: ["node:fs", "node:fs/*", "node:net", "node:http", "node:child_process", "fs", "fs/*"],
          message: "kto does no I/O.",
        },
        { group: ["drizzle-orm", "drizzle-orm/*", "postgres"], message: "kto does no I/O." },
      ]),
      "no-restricted-properties": [
        "error",
        { object: "Math", property: "random", message: "Take a seed (see rng.ts)." },
        { object: "Date", property: "now", message: "kto has no clock; take time from the caller." },
        { object: "process", property: "env", message: "kto takes configuration as arguments." },
      ],
    },
  },
  // synth is pure compute too: seeded randomness, no I/O, no clock.
  {
    files: ["packages/synth/src/**/*.ts"],
    ignores: ["packages/synth/src/**/*.test.ts"],
    rules: {
      ...restrict([
        { group: ["@likewise/*"], message: "Packages import no workspace package." },
        {
          group: ["node:*", "fs", "fs/*", "net", "http", "child_process"],
          message: "synth is pure compute.",
        },
        {
          group: ["@tensorflow/*", "onnxruntime-node", "drizzle-orm", "postgres"],
          message: "synth is pure compute.",
        },
      ]),
      "no-restricted-properties": [
        "error",
        { object: "Math", property: "random", message: "Take a seed (createRng)." },
        { object: "Date", property: "now", message: "synth has no clock." },
        { object: "process", property: "env", message: "synth takes configuration as arguments." },
      ],
    },
  },
  {
    files: ["packages/ui/src/**/*.{ts,tsx}"],
    rules: restrict([
      { group: ["@likewise/*"], message: "Packages import no workspace package." },
      { group: ["@trpc/*", "next-auth", "next-auth/*"], message: "ui is presentational." },
    ]),
  },
  {
    files: ["packages/serving/src/**/*.ts"],
    rules: restrict([
      { group: ["@likewise/*"], message: "Packages import no workspace package." },
      { group: ["@tensorflow/*"], message: "serving runs ONNX Runtime only." },
    ]),
  },
  {
    files: ["apps/web/src/**/*.{ts,tsx}"],
    rules: restrict([
      { group: ["@tensorflow/*"], message: "The web app never loads TensorFlow.js." },
      {
        group: ["@likewise/kto", "@likewise/kto/*", "@likewise/synth", "@likewise/trainer"],
        message: "web → {db, serving, ui} only.",
      },
    ]),
  },
  {
    files: ["apps/web/src/server/api/routers/**/*.ts"],
    rules: restrict([
      { group: ["drizzle-orm", "drizzle-orm/*", "@likewise/db/schema"], message: "Routers call verbs only." },
      {
        group: ["@tensorflow/*", "@likewise/kto", "@likewise/synth"],
        message: "web → {db, serving, ui} only.",
      },
    ]),
  },
  {
    files: ["apps/trainer/src/**/*.ts"],
    rules: restrict([
      { group: ["@likewise/web", "@likewise/ui"], message: "trainer → {db, kto, serving, synth} only." },
      {
        group: ["drizzle-orm", "drizzle-orm/*", "@likewise/db/schema"],
        message: "The trainer calls verbs only.",
      },
    ]),
  },
);
