import { requireViewer } from "~/server/auth";

import { ApiKeys } from "./api-keys";

export default async function ApiKeysPage() {
  await requireViewer("admin", "/admin/api-keys");
  return (
    <>
      <h1 className="mb-2 text-2xl font-semibold">API keys</h1>
      <p className="mb-4 text-sm text-zinc-400">
        Keys for the public feedback API (<code>/api/v1/feed</code>, <code>/api/v1/votes</code>; see
        docs/api.md). A key acts as the account it is issued for. Only a hash is stored: the key is shown
        once.
      </p>
      <ApiKeys />
    </>
  );
}
