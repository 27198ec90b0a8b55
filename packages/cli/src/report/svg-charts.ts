/** Small, dependency-free SVG charts for the HTML report. Every string is escaped. */

export function escapeXml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

export interface BarSeries {
  name: string;
  color: string;
}

export interface BarGroup {
  label: string;
  values: number[];
}

const fmt = (n: number) =>
  n >= 10_000
    ? `${Math.round(n / 1000)}k`
    : n >= 1000
      ? `${(n / 1000).toFixed(1)}k`
      : String(Math.round(n * 10) / 10);

/**
 * Horizontal grouped bars. `log` uses a log10 axis so that 100 and 100,000 both show.
 */
export function groupedBarChart(options: {
  title: string;
  series: BarSeries[];
  groups: BarGroup[];
  log?: boolean;
  unit?: string;
}): string {
  const { series, groups } = options;
  const labelWidth = 220;
  const chartWidth = 520;
  const barHeight = 18;
  const groupGap = 14;
  const top = 40;
  const height = top + groups.length * (series.length * barHeight + groupGap) + 30;
  const max = Math.max(1, ...groups.flatMap((g) => g.values));
  const scale = (v: number) =>
    options.log
      ? (Math.log10(Math.max(1, v)) / Math.log10(Math.max(10, max))) * chartWidth
      : (v / max) * chartWidth;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${labelWidth + chartWidth + 90} ${height}" role="img" aria-label="${escapeXml(options.title)}">`,
    `<text x="0" y="18" class="title">${escapeXml(options.title)}</text>`,
  ];
  series.forEach((s, i) => {
    parts.push(
      `<rect x="${labelWidth + i * 150}" y="26" width="10" height="10" fill="${s.color}"/><text x="${labelWidth + 14 + i * 150}" y="35" class="legend">${escapeXml(s.name)}</text>`,
    );
  });
  let y = top + 8;
  for (const group of groups) {
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + (series.length * barHeight) / 2 + 4}" text-anchor="end" class="label">${escapeXml(group.label)}</text>`,
    );
    group.values.forEach((value, i) => {
      const w = Math.max(1, scale(value));
      parts.push(
        `<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${barHeight - 3}" fill="${series[i]?.color ?? "#888"}"><title>${escapeXml(`${series[i]?.name}: ${value}${options.unit ? ` ${options.unit}` : ""}`)}</title></rect>`,
        `<text x="${(labelWidth + w + 4).toFixed(1)}" y="${y + barHeight - 6}" class="value">${fmt(value)}</text>`,
      );
      y += barHeight;
    });
    y += groupGap;
  }
  parts.push(
    `<text x="${labelWidth}" y="${height - 6}" class="axis">${options.log ? "log scale" : "linear scale"}${options.unit ? `, ${escapeXml(options.unit)}` : ""}</text>`,
    "</svg>",
  );
  return parts.join("");
}

export interface BoxRow {
  label: string;
  color: string;
  samples: number[];
}

/** Latency distributions: one row per label, a box (p25-p75), median, whiskers (min-max) and dots. */
export function boxPlot(options: { title: string; rows: BoxRow[]; unit: string }): string {
  const labelWidth = 330;
  const chartWidth = 480;
  const rowHeight = 30;
  const top = 34;
  const height = top + options.rows.length * rowHeight + 30;
  const all = options.rows.flatMap((r) => r.samples);
  const max = Math.max(1, ...all);
  const min = Math.max(0.01, Math.min(...all, max));
  // log axis: latencies span a millisecond to seconds
  const lo = Math.log10(min) - 0.05;
  const hi = Math.log10(max) + 0.05;
  const x = (v: number) =>
    labelWidth + ((Math.log10(Math.max(v, 0.01)) - lo) / (hi - lo || 1)) * chartWidth;
  const q = (sorted: number[], p: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${labelWidth + chartWidth + 80} ${height}" role="img" aria-label="${escapeXml(options.title)}">`,
    `<text x="0" y="18" class="title">${escapeXml(options.title)}</text>`,
  ];
  options.rows.forEach((row, i) => {
    const y = top + i * rowHeight;
    const mid = y + rowHeight / 2;
    const s = [...row.samples].sort((a, b) => a - b);
    parts.push(
      `<text x="${labelWidth - 8}" y="${mid + 4}" text-anchor="end" class="label">${escapeXml(row.label)}</text>`,
    );
    if (s.length === 0) return;
    const [mn, p25, p50, p75, mx] = [s[0]!, q(s, 0.25), q(s, 0.5), q(s, 0.75), s.at(-1)!];
    parts.push(
      `<line x1="${x(mn).toFixed(1)}" x2="${x(mx).toFixed(1)}" y1="${mid}" y2="${mid}" stroke="${row.color}" stroke-width="1"/>`,
      `<rect x="${x(p25).toFixed(1)}" y="${y + 7}" width="${Math.max(2, x(p75) - x(p25)).toFixed(1)}" height="${rowHeight - 14}" fill="${row.color}" fill-opacity="0.35" stroke="${row.color}"><title>${escapeXml(`${row.label}: median ${p50.toFixed(2)} ${options.unit}, p25 ${p25.toFixed(2)}, p75 ${p75.toFixed(2)}, min ${mn.toFixed(2)}, max ${mx.toFixed(2)}, ${s.length} runs`)}</title></rect>`,
      `<line x1="${x(p50).toFixed(1)}" x2="${x(p50).toFixed(1)}" y1="${y + 5}" y2="${y + rowHeight - 5}" stroke="${row.color}" stroke-width="2.5"/>`,
      `<text x="${(x(mx) + 6).toFixed(1)}" y="${mid + 4}" class="value">${p50.toFixed(1)} ${escapeXml(options.unit)}</text>`,
    );
    const step = Math.max(1, Math.floor(s.length / 60));
    for (let k = 0; k < s.length; k += step) {
      parts.push(
        `<circle cx="${x(s[k]!).toFixed(1)}" cy="${mid}" r="1.6" fill="${row.color}" fill-opacity="0.6"/>`,
      );
    }
  });
  const ticks: number[] = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++)
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (Math.log10(v) >= lo && Math.log10(v) <= hi) ticks.push(v);
    }
  for (const t of ticks) {
    parts.push(
      `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${top}" y2="${height - 24}" class="grid"/>`,
      `<text x="${x(t).toFixed(1)}" y="${height - 10}" text-anchor="middle" class="axis">${fmt(t)}</text>`,
    );
  }
  parts.push(
    `<text x="${labelWidth + chartWidth}" y="18" text-anchor="end" class="axis">${escapeXml(options.unit)}, log scale; box: p25-p75, bar: median, line: min-max</text>`,
    "</svg>",
  );
  return parts.join("");
}
