// The URL of the throwaway, migrated database that tests/helpers/global-setup.ts provides to every db-backed project.
declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}
export {};
