import { SignInForm } from "./sign-in-form";

export default async function SignInPage({
  searchParams,
}: {
  searchParams: Promise<{ callbackUrl?: string; created?: string }>;
}) {
  const sp = await searchParams;
  // Only same-site paths: an open redirect would let a link send people elsewhere after signing in.
  const callbackUrl =
    sp.callbackUrl?.startsWith("/") && !sp.callbackUrl.startsWith("//") ? sp.callbackUrl : "/";
  return (
    <div className="mx-auto max-w-sm">
      <h1 className="mb-4 text-2xl font-semibold">Sign in</h1>
      <SignInForm callbackUrl={callbackUrl} />
    </div>
  );
}
