import { hasRole, requireViewer } from "~/server/auth";

import { RoundsList, SchedulesPanel } from "./rounds";

export default async function RoundsPage() {
  const viewer = await requireViewer("analyst", "/admin/rounds");
  const canEdit = hasRole(viewer, "admin");
  return (
    <>
      <h1 className="mb-2 text-2xl font-semibold">Alignment rounds</h1>
      <p className="mb-4 text-sm text-zinc-400">
        queued → draining → training → exporting → evaluating → published | rejected | failed | canceled. A
        round claims every new consented label once, fine-tunes the parent (production by default) against
        itself as the reference, and publishes only when the gate passes. Admins run and cancel rounds and
        manage schedules; analysts read.
      </p>
      <RoundsList canEdit={canEdit} />
      <SchedulesPanel canEdit={canEdit} />
    </>
  );
}
