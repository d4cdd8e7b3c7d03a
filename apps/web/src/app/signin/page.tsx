import { env } from "~/env";

import { OAuthButtons } from "./oauth-buttons";
import { SignInForm } from "./sign-in-form";

export const dynamic = "force-dynamic";

export default async function SignInPage({
  searchParams,
}: {
  searchParams: Promise<{ callbackUrl?: string }>;
}) {
  const sp = await searchParams;
  // Only same-site paths: an open redirect would let a link send people elsewhere after signing in.
  const callbackUrl =
    sp.callbackUrl?.startsWith("/") && !sp.callbackUrl.startsWith("//") ? sp.callbackUrl : "/";
  // OAuth providers appear only when configured (env.ts); OAuth accounts start without training consent.
  const providers = [
    ...(env.oauth.github ? [{ id: "github", name: "GitHub" }] : []),
    ...(env.oauth.google ? [{ id: "google", name: "Google" }] : []),
  ];
  return (
    <div className="mx-auto max-w-sm">
      <h1 className="mb-4 text-2xl font-semibold">Sign in</h1>
      <SignInForm callbackUrl={callbackUrl} />
      {providers.length > 0 ? <OAuthButtons providers={providers} callbackUrl={callbackUrl} /> : null}
    </div>
  );
}
