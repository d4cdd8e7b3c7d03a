import { requireViewer } from "~/server/auth";

import { FeedView } from "./_components/feed-view";

export const dynamic = "force-dynamic";

export default async function RatePage() {
  await requireViewer("rater", "/");
  return (
    <>
      <h1 className="sr-only">Rate images</h1>
      <FeedView />
    </>
  );
}
