// SVG charts of the alignment benchmark (no plotting dependency): metric bars with 95% whiskers per model, the
// like-rate curve over rounds, and the win-rate matrix as a heat map.
import type { AlignmentReport } from "./report.ts";
import type { Interval } from "./stats.ts";

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const FONT = `font-family="DejaVu Sans, Arial, sans-serif"`;
const COLOURS = ["#7f7f7f", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];

function svg(width: number, height: number, body: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n<rect width="100%" height="100%" fill="white"/>\n${body.join("\n")}\n</svg>\n`;
}

/** Horizontal bars (one per model) for each panel's metric, with ± whiskers. */
export function metricBars(report: AlignmentReport, title: string): string {
  const panels: Array<{
    name: string;
    get: (m: AlignmentReport["models"][number]) => Interval;
    scale: number;
    unit: string;
  }> = [
    { name: "like rate (fresh votes)", get: (m) => m.likeRate, scale: 100, unit: "%" },
    { name: "judge prompt fidelity", get: (m) => m.fidelity, scale: 1, unit: "" },
    { name: "diversity (4×4 pairwise)", get: (m) => m.diversity, scale: 1, unit: "" },
  ];
  const labelW = 210;
  const panelW = 230;
  const rowH = 24;
  const top = 50;
  const models = report.models;
  const height = top + models.length * rowH + 40;
  const width = labelW + panels.length * (panelW + 20) + 10;
  const body: string[] = [
    `<text x="10" y="20" ${FONT} font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  models.forEach((m, i) =>
    body.push(
      `<text x="${labelW - 8}" y="${top + i * rowH + rowH / 2 + 4}" ${FONT} font-size="12" text-anchor="end">${esc(m.label)}</text>`,
    ),
  );
  panels.forEach((p, j) => {
    const x0 = labelW + j * (panelW + 20);
    const vals = models.map((m) => p.get(m));
    const max =
      Math.max(...vals.map((v) => (v.mean + (Number.isNaN(v.half) ? 0 : v.half)) * p.scale), 1e-9) * 1.1;
    const sx = (v: number) => x0 + (Math.max(0, v * p.scale) / max) * panelW;
    body.push(`<text x="${x0}" y="${top - 12}" ${FONT} font-size="12">${esc(p.name)}</text>`);
    body.push(`<line x1="${x0}" y1="${top}" x2="${x0}" y2="${top + models.length * rowH}" stroke="#333"/>`);
    vals.forEach((v, i) => {
      const y = top + i * rowH + 4;
      body.push(
        `<rect x="${x0}" y="${y}" width="${(sx(v.mean) - x0).toFixed(1)}" height="${rowH - 8}" fill="${COLOURS[i % COLOURS.length]}" opacity="0.85"/>`,
      );
      if (!Number.isNaN(v.half)) {
        const a = sx(v.mean - v.half);
        const b = sx(v.mean + v.half);
        const yc = y + (rowH - 8) / 2;
        body.push(
          `<line x1="${a.toFixed(1)}" y1="${yc}" x2="${b.toFixed(1)}" y2="${yc}" stroke="black"/><line x1="${a.toFixed(1)}" y1="${yc - 4}" x2="${a.toFixed(1)}" y2="${yc + 4}" stroke="black"/><line x1="${b.toFixed(1)}" y1="${yc - 4}" x2="${b.toFixed(1)}" y2="${yc + 4}" stroke="black"/>`,
        );
      }
      body.push(
        `<text x="${(sx(v.mean + (Number.isNaN(v.half) ? 0 : v.half)) + 4).toFixed(1)}" y="${y + rowH / 2}" ${FONT} font-size="10">${(v.mean * p.scale).toFixed(p.scale === 100 ? 1 : 3)}${p.unit}</text>`,
      );
    });
  });
  body.push(
    `<text x="10" y="${height - 12}" ${FONT} font-size="10" fill="#555">bars: mean over (held-out prompt, seed) cells; whiskers: 95% interval</text>`,
  );
  return svg(width, height, body);
}

/** Like rate (and fidelity) per round, round 0 = base, with 95% whiskers. */
export function roundsChart(report: AlignmentReport, title: string): string {
  const rounds = report.rounds;
  const width = 520;
  const height = 320;
  const left = 60;
  const right = 50;
  const top = 40;
  const bottom = 50;
  const pw = width - left - right;
  const ph = height - top - bottom;
  const hi = (i: Interval) => i.mean + (Number.isNaN(i.half) ? 0 : i.half);
  const max = Math.min(
    1,
    Math.max(0.05, ...rounds.map((r) => hi(r.likeRate)), ...rounds.map((r) => hi(r.fidelity))) * 1.1,
  );
  const sx = (i: number) => left + (rounds.length > 1 ? (i / (rounds.length - 1)) * pw : pw / 2);
  const sy = (v: number) => top + ph - (Math.min(max, Math.max(0, v)) / max) * ph;
  const body: string[] = [
    `<text x="10" y="20" ${FONT} font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  body.push(
    `<line x1="${left}" y1="${top + ph}" x2="${left + pw}" y2="${top + ph}" stroke="#333"/><line x1="${left}" y1="${top}" x2="${left}" y2="${top + ph}" stroke="#333"/>`,
  );
  for (let g = 0; g <= 4; g++) {
    const v = (max * g) / 4;
    body.push(
      `<text x="${left - 6}" y="${sy(v) + 4}" ${FONT} font-size="10" text-anchor="end">${(100 * v).toFixed(0)}%</text><line x1="${left}" y1="${sy(v)}" x2="${left + pw}" y2="${sy(v)}" stroke="#ddd"/>`,
    );
  }
  const series: Array<{
    name: string;
    get: (r: AlignmentReport["rounds"][number]) => Interval;
    colour: string;
  }> = [
    { name: "like rate", get: (r) => r.likeRate, colour: "#1f77b4" },
    { name: "fidelity (×100%)", get: (r) => r.fidelity, colour: "#2ca02c" },
  ];
  series.forEach((s, n) => {
    const pts = rounds.map((r, i) => `${sx(i).toFixed(1)},${sy(s.get(r).mean).toFixed(1)}`).join(" ");
    body.push(`<polyline points="${pts}" fill="none" stroke="${s.colour}" stroke-width="2"/>`);
    rounds.forEach((r, i) => {
      const v = s.get(r);
      body.push(
        `<circle cx="${sx(i).toFixed(1)}" cy="${sy(v.mean).toFixed(1)}" r="3.5" fill="${s.colour}"/>`,
      );
      if (!Number.isNaN(v.half))
        body.push(
          `<line x1="${sx(i).toFixed(1)}" y1="${sy(v.mean - v.half).toFixed(1)}" x2="${sx(i).toFixed(1)}" y2="${sy(v.mean + v.half).toFixed(1)}" stroke="${s.colour}"/>`,
        );
    });
    body.push(
      `<rect x="${left + 10}" y="${top + 6 + n * 16}" width="10" height="10" fill="${s.colour}"/><text x="${left + 26}" y="${top + 15 + n * 16}" ${FONT} font-size="11">${esc(s.name)}</text>`,
    );
  });
  rounds.forEach((r, i) =>
    body.push(
      `<text x="${sx(i).toFixed(1)}" y="${top + ph + 16}" ${FONT} font-size="11" text-anchor="middle">${r.round === 0 ? "base" : `round ${r.round}`}</text>`,
    ),
  );
  body.push(
    `<text x="10" y="${height - 10}" ${FONT} font-size="10" fill="#555">each round: KTO on fresh labels drawn from the previous round's model; whiskers: 95% interval</text>`,
  );
  return svg(width, height, body);
}

/** wins[a][b] as a heat map (rows beat columns). */
export function winMatrix(
  wins: AlignmentReport["winsJudge"],
  keys: readonly string[],
  title: string,
): string {
  const cell = 84;
  const left = 110;
  const top = 70;
  const width = left + keys.length * cell + 20;
  const height = top + keys.length * cell + 30;
  const body: string[] = [
    `<text x="10" y="20" ${FONT} font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  keys.forEach((k, i) => {
    body.push(
      `<text x="${left + i * cell + cell / 2}" y="${top - 8}" ${FONT} font-size="10" text-anchor="middle">${esc(k)}</text>`,
    );
    body.push(
      `<text x="${left - 8}" y="${top + i * cell + cell / 2 + 4}" ${FONT} font-size="11" text-anchor="end">${esc(k)}</text>`,
    );
  });
  keys.forEach((a, i) =>
    keys.forEach((b, j) => {
      const x = left + j * cell;
      const y = top + i * cell;
      if (a === b) {
        body.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="#eee" stroke="white"/>`);
        return;
      }
      const w = wins[a]?.[b]?.mean ?? Number.NaN;
      const t = Number.isNaN(w) ? 0.5 : w;
      // White at 50%, towards red where the row loses, towards blue where it wins.
      const s = Math.min(1, Math.abs(t - 0.5) * 2);
      const fill =
        t < 0.5
          ? `rgb(255,${Math.round(255 - 150 * s)},${Math.round(255 - 150 * s)})`
          : `rgb(${Math.round(255 - 150 * s)},${Math.round(255 - 100 * s)},255)`;
      body.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fill}" stroke="white"/>`);
      body.push(
        `<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" ${FONT} font-size="12" text-anchor="middle">${Number.isNaN(w) ? "—" : (100 * w).toFixed(0)}</text>`,
      );
    }),
  );
  body.push(
    `<text x="10" y="${height - 10}" ${FONT} font-size="10" fill="#555">% of (prompt, seed) cells where the row's median image scores above the column's</text>`,
  );
  return svg(width, height, body);
}
