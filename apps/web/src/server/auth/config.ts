import "~/server/only";

import type { NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import GitHubProvider from "next-auth/providers/github";
import GoogleProvider from "next-auth/providers/google";

import { createUser, findUserByEmail, findUserCredentialsByEmail, verifyPassword } from "@likewise/db";

import { env } from "~/env";
import { Email } from "~/lib/schemas";

import { getDb } from "../db";
import { clientIp, getLimits } from "../runtime";

// A bcrypt hash of a throwaway password: unknown emails cost as much as wrong passwords (no user enumeration by timing).
const DUMMY_HASH = "$2b$12$htPxh4W.9kbEPIRFDh0iyehKUKmLr8VSoRhVShHEoSHZM/RgA5Jqi";

/** Messages the sign-in form shows (next-auth passes a thrown error's message to the client). */
export const SIGN_IN_ERRORS = {
  invalid: "wrong email or password",
  blocked: "this account is blocked",
  limited: "too many sign-in attempts; wait a minute",
} as const;

let cached: NextAuthOptions | undefined;

export function getAuthOptions(): NextAuthOptions {
  cached ??= {
    secret: env.authSecret(),
    session: { strategy: "jwt", maxAge: 30 * 24 * 3600 },
    pages: { signIn: "/signin" },
    providers: [
      CredentialsProvider({
        name: "Email",
        credentials: {
          email: { label: "Email", type: "email" },
          password: { label: "Password", type: "password" },
        },
        async authorize(credentials, req) {
          const email = Email.safeParse(credentials?.email);
          const password = credentials?.password;
          if (
            !email.success ||
            typeof password !== "string" ||
            password.length === 0 ||
            password.length > 200
          ) {
            throw new Error(SIGN_IN_ERRORS.invalid);
          }
          const limits = getLimits();
          const ip = clientIp(new Headers(req.headers as Record<string, string> | undefined));
          // Both buckets are charged on every attempt: an attempt refused per address still counts against the email, so
          // guesses spread over refused and fresh addresses cannot leave the email's bucket full.
          const byIp = limits.signIn.take(`ip:${ip}`);
          const byEmail = limits.signIn.take(`email:${email.data}`);
          if (!byIp.ok || !byEmail.ok) {
            throw new Error(SIGN_IN_ERRORS.limited);
          }
          const { db } = getDb();
          const user = await findUserCredentialsByEmail(db, email.data);
          const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
          if (!user || !user.passwordHash || !ok) throw new Error(SIGN_IN_ERRORS.invalid);
          if (user.blockedAt) throw new Error(SIGN_IN_ERRORS.blocked);
          return { id: user.id, email: email.data, role: user.role };
        },
      }),
      ...(env.oauth.github ? [GitHubProvider(env.oauth.github)] : []),
      ...(env.oauth.google ? [GoogleProvider(env.oauth.google)] : []),
    ],
    callbacks: {
      // OAuth sign-ins map to a local account by verified email (created as a rater without consent; settings changes it).
      async signIn({ user, account }) {
        if (!account || account.provider === "credentials") return true;
        const email = Email.safeParse(user.email);
        if (!email.success) return false;
        const { db } = getDb();
        const existing =
          (await findUserByEmail(db, email.data)) ??
          (await createUser(db, { email: email.data, name: user.name ?? null, trainingConsent: false }));
        if (existing.blockedAt) return false;
        user.id = existing.id;
        user.role = existing.role;
        return true;
      },
      jwt({ token, user }) {
        if (user) {
          token.uid = user.id;
          token.role = user.role ?? "rater";
        }
        return token;
      },
      session({ session, token }) {
        if (token.uid && token.role) session.user = { ...session.user, id: token.uid, role: token.role };
        return session;
      },
    },
  };
  return cached;
}
