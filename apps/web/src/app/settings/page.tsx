import { requireViewer } from "~/server/auth";

import { ConsentSettings } from "./consent-settings";

export default async function SettingsPage() {
  await requireViewer("rater", "/settings");
  return (
    <div className="mx-auto max-w-lg">
      <h1 className="mb-4 text-2xl font-semibold">Settings</h1>
      <ConsentSettings />
    </div>
  );
}
