// The command table. Modules load lazily so `--help` and quick commands do not pay for tfjs or ORT.
export type Command = { summary: string; load: () => Promise<{ run: (argv: string[]) => Promise<void> }> };

export const COMMANDS: Record<string, Command> = {
  eval: {
    summary: "judge metrics + simulated-rater like rate on held-out prompts, and a contact sheet",
    load: () => import("./eval.ts"),
  },
  models: {
    summary: "model registry: list, register (verify + store + row), promote, rollback, serving hosts",
    load: () => import("./models.ts"),
  },
  pretrain: {
    summary: "train the base model on the shapes world (resumable)",
    load: () => import("./pretrain.ts"),
  },
  round: {
    summary: "alignment rounds: run (progress bar, resumable), list, export a round's labels as JSONL",
    load: () => import("./round.ts"),
  },
  simulate: {
    summary: "simulated raters sign up and vote on the production feed (--raters <preset|file> --votes N)",
    load: () => import("./simulate.ts"),
  },
  toy: {
    summary: "Diffusion-KTO's 2-D toy experiment: KTO vs loss-averse, risk-seeking, SFT, DPO (table + PNGs)",
    load: () => import("./toy.ts"),
  },
  worker: { summary: "run the trainer worker (what `pnpm start` runs)", load: () => import("./worker.ts") },
};
