import { requireViewer } from "~/server/auth";

import { MyVotes } from "./my-votes";

export const dynamic = "force-dynamic";

export default async function VotesPage() {
  await requireViewer("rater", "/votes");
  return (
    <>
      <h1 className="mb-4 text-2xl font-semibold">My votes</h1>
      <MyVotes />
    </>
  );
}
