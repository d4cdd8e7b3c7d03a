"use client";

import { signOut } from "next-auth/react";

import { Button } from "@likewise/ui";

export function SignOutButton() {
  return (
    <Button
      variant="ghost"
      onClick={async () => {
        // redirect: false — next-auth v4 would redirect to NEXTAUTH_URL, which may not be the host in use
        await signOut({ redirect: false });
        window.location.href = "/signin";
      }}
    >
      Sign out
    </Button>
  );
}
