// Progress for long CLI work: a redrawn bar with rate and ETA on a terminal, one line every few seconds
// otherwise (logs, CI), so both a person and a log reader can tell how far a job is and when it ends.

export type ProgressOptions = {
  label: string;
  total: number;
  unit?: string;
  stream?: NodeJS.WriteStream;
  /** Units already done before this run (a resumed job): the rate and ETA count only what this run does. */
  initial?: number;
  /** Minimum ms between non-TTY lines. */
  logEveryMs?: number;
  now?: () => number;
};

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "--:--";
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0
    ? `${h}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}`
    : `${m}:${String(sec).padStart(2, "0")}`;
}

export class ProgressBar {
  private readonly started: number;
  private lastLog = 0;
  private done = 0;
  private extra = "";
  private readonly stream: NodeJS.WriteStream;
  private readonly now: () => number;
  private readonly isTty: boolean;

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.now = opts.now ?? (() => performance.now());
    this.started = this.now();
    this.done = opts.initial ?? 0;
    this.isTty = Boolean(this.stream.isTTY);
  }

  /** `done` units finished (absolute); `extra` is a short status such as "loss 0.031". */
  update(done: number, extra = ""): void {
    this.done = Math.min(done, this.opts.total);
    this.extra = extra;
    const t = this.now();
    if (this.isTty) this.draw();
    else if (t - this.lastLog >= (this.opts.logEveryMs ?? 5000) || this.done >= this.opts.total) {
      this.lastLog = t;
      this.stream.write(this.line() + "\n");
    }
  }

  finish(extra = this.extra): void {
    this.update(this.opts.total, extra);
    if (this.isTty) this.stream.write("\n");
  }

  /** Rate in units per second and ETA in ms, from the average since start. */
  stats(): { rate: number; etaMs: number; elapsedMs: number } {
    const elapsedMs = this.now() - this.started;
    const rate = elapsedMs > 0 ? (Math.max(0, this.done - (this.opts.initial ?? 0)) * 1000) / elapsedMs : 0;
    const etaMs = rate > 0 ? ((this.opts.total - this.done) / rate) * 1000 : Number.NaN;
    return { rate, etaMs, elapsedMs };
  }

  line(): string {
    const { rate, etaMs, elapsedMs } = this.stats();
    const pct = this.opts.total > 0 ? (100 * this.done) / this.opts.total : 100;
    const unit = this.opts.unit ?? "it";
    return (
      `${this.opts.label} ${this.done}/${this.opts.total} ${unit} (${pct.toFixed(1)}%) ` +
      `${rate.toFixed(rate < 10 ? 2 : 1)} ${unit}/s elapsed ${formatDuration(elapsedMs)} ETA ${formatDuration(etaMs)}` +
      (this.extra ? ` ${this.extra}` : "")
    );
  }

  private draw(): void {
    const width = 28;
    const frac = this.opts.total > 0 ? this.done / this.opts.total : 1;
    const full = Math.round(frac * width);
    const bar = "█".repeat(full) + "░".repeat(width - full);
    this.stream.write(`\r\x1b[2K${bar} ${this.line()}`);
  }
}
