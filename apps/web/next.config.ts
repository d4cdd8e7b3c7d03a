import type { NextConfig } from "next";

const config: NextConfig = {
  // The end-to-end tests build into their own folder so they never race `pnpm start`'s build in .next.
  distDir: process.env.LIKEWISE_NEXT_DIST_DIR || ".next",
  // Workspace packages ship TypeScript source.
  transpilePackages: ["@likewise/db", "@likewise/serving", "@likewise/ui"],
  // Native or binary-spawning packages stay as plain Node requires.
  serverExternalPackages: ["onnxruntime-node", "postgres", "pg-boss", "pg"],
  poweredByHeader: false,
  reactStrictMode: true,
};

export default config;
