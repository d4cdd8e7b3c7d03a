import "~/server/only";

import type { Db } from "@likewise/db";
import type { UserRole } from "@likewise/db/enums";

import type { RateLimiters } from "../rate-limit";
import type { WebServices } from "../services";

/** The signed-in user as the server sees them now (role and block status re-read from the database per request). */
export type Viewer = { id: string; email: string; role: UserRole };

export type TrpcContext = {
  db: Db;
  viewer: Viewer | null;
  /** Client address for per-IP limits ("unknown" when not known). */
  ip: string;
  limits: RateLimiters;
  services: WebServices;
};
