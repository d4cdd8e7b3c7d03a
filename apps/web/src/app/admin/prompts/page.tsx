import { hasRole, requireViewer } from "~/server/auth";

import { PromptPool } from "./prompt-pool";

export default async function AdminPromptsPage() {
  const viewer = await requireViewer("analyst", "/admin/prompts");
  return (
    <>
      <h1 className="mb-4 text-2xl font-semibold">Prompt pool</h1>
      <PromptPool canEdit={hasRole(viewer, "admin")} />
    </>
  );
}
