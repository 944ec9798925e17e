/** An SVG bar chart of the benchmark: per scenario, each contestant's throughput relative to cachetory. */

interface ChartRow {
  readonly scenario: string;
  readonly contestant: string;
  readonly ratio?: number;
}

const ROW_HEIGHT = 18;
const LABEL_WIDTH = 230;
const BAR_WIDTH = 420;

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (character) => `&#${String(character.charCodeAt(0))};`);
}

/** Bars on a log scale from 0.01× to 10×, with the 1× line marked (cachetory). */
export function renderChart(rows: readonly ChartRow[], machine: string): string {
  const scale = (ratio: number): number => Math.max(0, Math.min(1, (Math.log10(ratio) + 2) / 3)) * BAR_WIDTH;
  const lines: string[] = [];
  let y = 40;
  for (const scenario of new Set(rows.map((row) => row.scenario))) {
    lines.push(`<text x="10" y="${String(y)}" font-weight="bold">${escapeXml(scenario)}</text>`);
    y += ROW_HEIGHT;
    for (const row of rows.filter((entry) => entry.scenario === scenario)) {
      const ratio = row.ratio ?? 0;
      const colour = row.contestant.startsWith("cachetory") ? "#2a7ab0" : "#b0b0b0";
      lines.push(
        `<text x="20" y="${String(y + 12)}">${escapeXml(row.contestant)}</text>`,
        `<rect x="${String(LABEL_WIDTH)}" y="${String(y + 2)}" width="${scale(ratio).toFixed(1)}" height="${String(ROW_HEIGHT - 4)}" fill="${colour}"/>`,
        `<text x="${(LABEL_WIDTH + scale(ratio) + 4).toFixed(1)}" y="${String(y + 12)}">${ratio.toFixed(2)}×</text>`,
      );
      y += ROW_HEIGHT;
    }
    y += 8;
  }
  const oneX = LABEL_WIDTH + scale(1);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${String(LABEL_WIDTH + BAR_WIDTH + 80)}" height="${String(y + 20)}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="18" font-size="13">Throughput relative to cachetory (log scale; 1× = cachetory) — ${escapeXml(machine)}</text>`,
    `<line x1="${oneX.toFixed(1)}" y1="26" x2="${oneX.toFixed(1)}" y2="${String(y)}" stroke="#2a7ab0" stroke-dasharray="3,3"/>`,
    ...lines,
    "</svg>",
    "",
  ].join("\n");
}
