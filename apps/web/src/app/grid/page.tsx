import { requireViewer } from "~/server/auth";

import { FeedGrid } from "./feed-grid";

export const dynamic = "force-dynamic";

export default async function GridPage() {
  await requireViewer("rater", "/grid");
  return (
    <>
      <h1 className="mb-4 text-2xl font-semibold">Grid</h1>
      <FeedGrid />
    </>
  );
}
