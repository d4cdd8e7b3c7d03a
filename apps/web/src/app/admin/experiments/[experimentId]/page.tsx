import { hasRole, requireViewer } from "~/server/auth";

import { ExperimentDetail } from "./experiment-detail";

export default async function ExperimentPage({ params }: { params: Promise<{ experimentId: string }> }) {
  const { experimentId } = await params;
  const viewer = await requireViewer("analyst", `/admin/experiments/${experimentId}`);
  return <ExperimentDetail experimentId={experimentId} canDecide={hasRole(viewer, "admin")} />;
}
