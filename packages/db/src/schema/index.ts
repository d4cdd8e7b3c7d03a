// Tables and enums: for drizzle-kit, the Auth.js adapter and tests. Application code calls verbs instead.
export * from "./auth.ts";
export * from "./experiment.ts";
export * from "./feedback.ts";
export * from "./generation.ts";
export * from "./image.ts";
export * from "./model-version.ts";
export * from "./pg-enums.ts";
export * from "./prompt.ts";
export * from "./round.ts";
export * from "./serving.ts";
export * from "./web.ts";
