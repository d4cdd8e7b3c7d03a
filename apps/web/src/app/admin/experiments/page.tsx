export default function ExperimentsPage() {
  return (
    <>
      <h1 className="mb-2 text-2xl font-semibold">Experiments</h1>
      <p className="text-zinc-400">
        This page will show A/B experiments between model versions: variants and traffic, like rate per
        exposure and per vote, the sequential test and the sample-ratio check, with promote and roll-back
        actions. It is built by the experiments issue. The feed already serves a running experiment’s variants
        with sticky assignment.
      </p>
    </>
  );
}
