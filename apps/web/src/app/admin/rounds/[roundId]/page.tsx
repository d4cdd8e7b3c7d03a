import { hasRole, requireViewer } from "~/server/auth";

import { RoundDetail } from "./round-detail";

export default async function RoundPage({ params }: { params: Promise<{ roundId: string }> }) {
  const { roundId } = await params;
  const viewer = await requireViewer("analyst", `/admin/rounds/${roundId}`);
  return <RoundDetail roundId={roundId} canEdit={hasRole(viewer, "admin")} />;
}
