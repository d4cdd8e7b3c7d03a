import type { NextConfig } from "next";

const config: NextConfig = {
  // Workspace packages ship TypeScript source.
  transpilePackages: ["@likewise/db", "@likewise/serving", "@likewise/ui"],
  // Native or binary-spawning packages stay as plain Node requires.
  serverExternalPackages: ["onnxruntime-node", "postgres", "pg-boss", "pg"],
  poweredByHeader: false,
  reactStrictMode: true,
};

export default config;
