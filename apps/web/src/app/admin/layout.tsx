import Link from "next/link";
import type { ReactNode } from "react";

import { hasRole, requireViewer } from "~/server/auth";

export const dynamic = "force-dynamic";

// UX only: every admin procedure checks the role again on the server.
export default async function AdminLayout({ children }: { children: ReactNode }) {
  const viewer = await requireViewer("analyst", "/admin");
  const links: [string, string][] = [
    ["/admin", "Dashboard"],
    ["/admin/users", "Users"],
    ["/admin/moderation", "Moderation"],
    ["/admin/prompts", "Prompts"],
    ...(hasRole(viewer, "admin") ? ([["/admin/api-keys", "API keys"]] as [string, string][]) : []),
    ["/admin/rounds", "Rounds"],
    ["/admin/experiments", "Experiments"],
  ];
  return (
    <div className="grid gap-6 md:grid-cols-[180px_1fr]">
      <nav aria-label="Admin" className="flex flex-col gap-1 text-sm">
        <span className="mb-2 text-xs uppercase tracking-wide text-zinc-500">
          Admin{viewer.role === "analyst" ? " (read-only)" : ""}
        </span>
        {links.map(([href, label]) => (
          <Link
            key={href}
            href={href}
            className="rounded px-2 py-1 text-zinc-300 hover:bg-zinc-800 hover:text-white"
          >
            {label}
          </Link>
        ))}
      </nav>
      <div>{children}</div>
    </div>
  );
}
