import { hasRole, requireViewer } from "~/server/auth";

import { UsersTable } from "./users-table";

export default async function AdminUsersPage() {
  const viewer = await requireViewer("analyst", "/admin/users");
  return (
    <>
      <h1 className="mb-4 text-2xl font-semibold">Users</h1>
      <UsersTable canEdit={hasRole(viewer, "admin")} viewerId={viewer.id} />
    </>
  );
}
