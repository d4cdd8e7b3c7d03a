export default function RoundsPage() {
  return (
    <>
      <h1 className="mb-2 text-2xl font-semibold">Alignment rounds</h1>
      <p className="text-zinc-400">
        This page will list alignment rounds (draining → training → exporting → evaluating → published), their
        label counts, progress and metrics, and let admins schedule or cancel rounds. It is built by the
        rounds issue; until then, rounds are run from the trainer CLI.
      </p>
    </>
  );
}
