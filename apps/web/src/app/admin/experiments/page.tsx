import { hasRole, requireViewer } from "~/server/auth";

import { CreateExperimentForm, ExperimentList } from "./experiments";

export default async function ExperimentsPage() {
  const viewer = await requireViewer("analyst", "/admin/experiments");
  return (
    <>
      <h1 className="mb-4 text-2xl font-semibold">Experiments</h1>
      <p className="mb-4 text-sm text-zinc-400">
        A/B tests between model versions. Users are the unit: each is bucketed once (sticky) by a seeded hash;
        users outside the target population get production. Analysts and admins create; admins start, stop and
        decide.
      </p>
      <ExperimentList />
      <CreateExperimentForm />
      {hasRole(viewer, "admin") ? null : (
        <p className="mt-4 text-xs text-zinc-500">Read-only: starting and deciding need the admin role.</p>
      )}
    </>
  );
}
