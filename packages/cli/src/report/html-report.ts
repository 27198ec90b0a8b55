import type { BenchmarkReport } from "../benchmark/run-benchmark.js";
import { boxPlot, escapeXml, groupedBarChart } from "./svg-charts.js";

const PLAIN = "#d9534f";
const CODE = "#2b8a3e";
const BEFORE = "#868e96";
const MODE_COLORS: Record<string, string> = {
  process: "#1c7ed6",
  wasm: "#7048e8",
  docker: "#0ca678",
  gvisor: "#e67700",
  hybrid: "#c2255c",
};

const num = (n: number) => n.toLocaleString("en-US");

/** One self-contained HTML page (inline CSS and SVG, no scripts, no external assets). */
export function renderHtmlReport(report: BenchmarkReport): string {
  const ok = report.scenarios.filter((s) => !s.error);
  const tokens = groupedBarChart({
    title: "Tokens per scenario: plain MCP vs code mode",
    series: [
      { name: "plain MCP", color: PLAIN },
      { name: "code mode", color: CODE },
    ],
    groups: ok.map((s) => ({ label: s.title, values: [s.plain.tokens, s.codeMode.tokens] })),
    unit: "tokens (o200k)",
  });
  const beforeNow = groupedBarChart({
    title: "Code-mode tokens: before the token work and now (same program)",
    series: [
      { name: "before", color: BEFORE },
      { name: "now", color: CODE },
    ],
    groups: ok.map((s) => ({
      label: s.title,
      values: [s.codeModeBefore.tokens, s.codeMode.tokens],
    })),
    unit: "tokens (o200k)",
  });
  const trips = groupedBarChart({
    title: "Model round trips per scenario",
    series: [
      { name: "plain MCP", color: PLAIN },
      { name: "code mode", color: CODE },
    ],
    groups: ok.map((s) => ({
      label: s.title,
      values: [s.plain.roundTrips, s.codeMode.roundTrips],
    })),
    unit: "round trips",
  });
  const latencyRows = ok.flatMap((s) =>
    Object.entries(s.wallTime).map(([mode, d]) => ({
      label: `${s.title} (${mode})`,
      color: MODE_COLORS[mode] ?? "#495057",
      samples: d.samplesMs,
    })),
  );
  for (const sb of report.sandboxes) {
    if (sb.latency) {
      latencyRows.push({
        label: `trivial execution (${sb.mode})`,
        color: MODE_COLORS[sb.mode] ?? "#495057",
        samples: sb.latency.samplesMs,
      });
    }
  }
  const latency = boxPlot({
    title: "Wall time of one code-mode execution, per sandbox",
    rows: latencyRows,
    unit: "ms",
  });

  const scenarioRows = report.scenarios
    .map((s) =>
      s.error
        ? `<tr><td>${escapeXml(s.title)}</td><td colspan="7" class="bad">failed: ${escapeXml(s.error)}</td></tr>`
        : `<tr><td><b>${escapeXml(s.title)}</b><br><small>${escapeXml(s.description)}</small></td><td>${s.servers.length} / ${s.tools}</td><td class="n">${num(s.plain.tokens)}</td><td class="n">${num(s.codeMode.tokens)}</td><td class="n"><b>${s.reductionPct}%</b></td><td class="n">${s.plain.roundTrips} → ${s.codeMode.roundTrips}</td><td class="n">${Object.entries(
            s.wallTime,
          )
            .map(([m, d]) => `${m}: ${d.meanMs} ms`)
            .join("<br>")}</td></tr>`,
    )
    .join("\n");
  const sandboxRows = report.sandboxes
    .map((s) =>
      s.available
        ? `<tr><td>${escapeXml(s.mode)}</td><td class="n">${s.latency ? `${s.latency.meanMs} ms (p95 ${s.latency.p95Ms})` : "-"}</td><td class="n">${s.throughput ? `${num(s.throughput.perSecond)}/s (${s.throughput.concurrency} sessions)` : "-"}</td><td class="n">${s.memory ? `${s.memory.perSessionMb} MB` : "-"}</td></tr>`
        : `<tr><td>${escapeXml(s.mode)}</td><td colspan="3" class="bad">not available: ${escapeXml(s.reason ?? "")}</td></tr>`,
    )
    .join("\n");
  const env = report.environment;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>MCP Optimizer benchmark, ${escapeXml(report.startedAt)}</title>
<style>
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 980px; padding: 0 1rem; color: #212529; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2.2rem; }
.meta { color: #666; font-size: .9rem; }
table { border-collapse: collapse; width: 100%; margin: .8rem 0; font-size: .92rem; }
th, td { border-bottom: 1px solid #dee2e6; padding: .45rem .5rem; text-align: left; vertical-align: top; }
th { background: #f8f9fa; } td.n { text-align: right; white-space: nowrap; } td.bad { color: #c92a2a; }
small { color: #666; }
svg { width: 100%; height: auto; margin: .8rem 0; }
svg .title { font-weight: 600; font-size: 15px; } svg .label, svg .legend { font-size: 12px; fill: #343a40; }
svg .value, svg .axis { font-size: 11px; fill: #666; } svg .grid { stroke: #e9ecef; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; } .card { flex: 1 1 180px; background: #f8f9fa; border-radius: 8px; padding: .8rem 1rem; }
.card b { display: block; font-size: 1.5rem; }
</style>
</head>
<body>
<h1>MCP Optimizer benchmark</h1>
<p class="meta">${escapeXml(report.startedAt)} · mcp-optimizer ${escapeXml(report.version)} · Node ${escapeXml(env.node)} on ${escapeXml(env.platform)}/${escapeXml(env.arch)}, ${env.cpus} × ${escapeXml(env.cpuModel)} · tokenizer ${escapeXml(report.tokenizer)}${report.quick ? " · quick fixtures" : ""} · ${report.iterations} timed runs per sandbox</p>
<div class="cards">
${ok
  .map(
    (s) =>
      `<div class="card"><small>${escapeXml(s.title)}</small><b>${s.reductionPct}%</b><small>fewer tokens (${num(s.plain.tokens)} → ${num(s.codeMode.tokens)})</small></div>`,
  )
  .join("\n")}
</div>
<h2>Tokens</h2>
<p>Plain MCP: every tool definition of every connected server, plus each call's arguments and each result as the client hands them to the model. Code mode: the meta-tool definitions, the program and its result.</p>
${tokens}
${beforeNow}
${trips}
<table><thead><tr><th>scenario</th><th>servers / tools</th><th>plain MCP tokens</th><th>code-mode tokens</th><th>reduction</th><th>round trips</th><th>wall time (mean)</th></tr></thead>
<tbody>
${scenarioRows}
</tbody></table>
<h2>Latency per sandbox</h2>
${latency}
<h2>Sandboxes</h2>
<table><thead><tr><th>mode</th><th>trivial execution latency</th><th>executions per second</th><th>memory per session</th></tr></thead>
<tbody>
${sandboxRows}
</tbody></table>
${report.skipped.length ? `<h2>Skipped</h2><ul>${report.skipped.map((s) => `<li>${escapeXml(s.id)}: ${escapeXml(s.reason)}</li>`).join("")}</ul>` : ""}
<p class="meta">Servers: ${Object.entries(report.servers)
    .map(([p, v]) => `${escapeXml(p)} ${escapeXml(v ?? "not installed")}`)
    .join(" · ")}. Reproduce with <code>mcp-optimizer benchmark --report report.html</code>.</p>
</body>
</html>
`;
}
