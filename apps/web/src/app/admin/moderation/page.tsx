import { hasRole, requireViewer } from "~/server/auth";

import { ModerationGrid } from "./moderation-grid";

export default async function ModerationPage() {
  const viewer = await requireViewer("analyst", "/admin/moderation");
  return (
    <>
      <h1 className="mb-2 text-2xl font-semibold">Moderation</h1>
      <p className="mb-4 text-sm text-zinc-400">
        A hidden image leaves every feed and its votes are never used for training. To exclude a person’s
        votes, use Users → Exclude votes.
      </p>
      <ModerationGrid canEdit={hasRole(viewer, "admin")} />
    </>
  );
}
