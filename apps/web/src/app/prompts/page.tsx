import { requireViewer } from "~/server/auth";

import { PromptStudio } from "./prompt-studio";

export const dynamic = "force-dynamic";

export default async function PromptsPage() {
  await requireViewer("rater", "/prompts");
  return (
    <>
      <h1 className="mb-4 text-2xl font-semibold">Prompts</h1>
      <PromptStudio />
    </>
  );
}
