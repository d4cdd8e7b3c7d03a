import { describe, expect, test } from "vitest";

import { formatDuration, ProgressBar } from "./progress.ts";

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return {
    stream: { isTTY, write: (s: string) => (writes.push(s), true) } as unknown as NodeJS.WriteStream,
    writes,
  };
}

describe("progress", () => {
  test("formats durations as m:ss and h:mm:ss", () => {
    expect(formatDuration(65_000)).toBe("1:05");
    expect(formatDuration(3_725_000)).toBe("1:02:05");
    expect(formatDuration(Number.NaN)).toBe("--:--");
  });

  test("reports rate and ETA from elapsed time", () => {
    let t = 0;
    const { stream, writes } = fakeStream(false);
    const bar = new ProgressBar({
      label: "train",
      total: 100,
      unit: "step",
      stream,
      now: () => t,
      logEveryMs: 0,
    });
    t = 10_000;
    bar.update(25, "loss 0.5");
    expect(bar.stats().rate).toBeCloseTo(2.5);
    expect(bar.stats().etaMs).toBeCloseTo(30_000);
    expect(writes.at(-1)).toBe("train 25/100 step (25.0%) 2.50 step/s elapsed 0:10 ETA 0:30 loss 0.5\n");
  });

  test("a resumed job's rate and ETA count only this run's units", () => {
    let t = 0;
    const { stream } = fakeStream(false);
    const bar = new ProgressBar({
      label: "pretrain",
      total: 3000,
      unit: "step",
      stream,
      now: () => t,
      initial: 2000,
      logEveryMs: 0,
    });
    t = 10_000;
    bar.update(2010);
    expect(bar.stats().rate).toBeCloseTo(1); // 10 steps in 10 s, not 2010
    expect(bar.stats().etaMs).toBeCloseTo(990_000);
  });

  test("throttles non-TTY lines but always prints the last one", () => {
    let t = 0;
    const { stream, writes } = fakeStream(false);
    const bar = new ProgressBar({ label: "x", total: 10, stream, now: () => t, logEveryMs: 1000 });
    for (let i = 1; i <= 9; i++) {
      t = i * 100;
      bar.update(i);
    }
    expect(writes).toHaveLength(0);
    t = 2000;
    bar.finish();
    expect(writes).toHaveLength(1);
    expect(writes[0]).toContain("10/10");
  });

  test("redraws in place on a terminal", () => {
    const { stream, writes } = fakeStream(true);
    const bar = new ProgressBar({ label: "x", total: 4, stream, now: () => 1 });
    bar.update(2);
    expect(writes[0]?.startsWith("\r\x1b[2K")).toBe(true);
    expect(writes[0]).toContain("██████████████");
  });
});
