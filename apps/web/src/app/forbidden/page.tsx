export default async function ForbiddenPage({ searchParams }: { searchParams: Promise<{ need?: string }> }) {
  const { need } = await searchParams;
  return (
    <div className="mx-auto max-w-md text-center">
      <h1 className="mb-2 text-2xl font-semibold">403 — not allowed</h1>
      <p className="text-zinc-400">
        This page needs the {need === "admin" || need === "analyst" ? need : "right"} role. Ask an
        administrator if you think you should have it.
      </p>
    </div>
  );
}
