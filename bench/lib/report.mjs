/** The bench's printed output: the table, part 2, and the performance targets checked against this run. */

export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const SCENARIO_LABELS = {
  'v1-json': '/v1 chat',
  'v1-stream': '/v1 chat stream',
  'api-chat': '/api/chat',
  'responses-json': '/v1 responses',
  'responses-stream': '/v1 responses stream',
  'responses-translated': '/v1 responses → chat',
};

function fixed(value, digits) {
  return value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits);
}

function signed(value, digits) {
  if (value === undefined || !Number.isFinite(value)) return '—';
  return `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;
}

/** A plain-text table with aligned columns (also valid Markdown). */
export function markdownTable(header, lines) {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((line) => String(line[i]).length)));
  const row = (cells) => `| ${cells.map((cell, i) => (i < 3 ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i < 3 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [row(header), rule, ...lines.map(row)].join('\n');
}

/** One line per (target, scenario, concurrency): req/s, p50, p99, ratio to the proxy and to the same framework's minimal route. */
export function formatTable(rows) {
  const header = ['target', 'scenario', 'c', 'req/s', 'p50 ms', 'p99 ms', '× proxy', '× minimal', 'Δp50 ms', 'CPU µs/req', 'CPU × minimal'];
  const lines = rows.map((r) => [
    r.label,
    SCENARIO_LABELS[r.scenario] ?? r.scenario,
    r.connections,
    fixed(r.rps, 0),
    fixed(r.p50, 2),
    fixed(r.p99, 2),
    fixed(r.vsProxy, 2),
    fixed(r.vsMinimal, 2),
    signed(r.addedP50, 2),
    fixed(r.cpuUs, 0),
    fixed(r.cpuVsMinimal, 2),
  ]);
  return markdownTable(header, lines);
}

/** Part 2: memory per open stream, abort-to-upstream-close, route resolution. */
export function formatExtras(extras) {
  const streamHeader = ['target', 'scenario', 'streams', 'idle RSS MiB', 'RSS KiB/stream', 'heap KiB/stream', 'abort→close p50 ms', 'max ms'];
  const streamLines = extras.streams.map((s) => [
    s.target,
    SCENARIO_LABELS[s.scenario] ?? s.scenario,
    s.memory.streams,
    fixed(s.memory.idleRssMiB, 1),
    fixed(s.memory.rssPerStreamKiB, 1),
    fixed(s.memory.heapPerStreamKiB, 1),
    fixed(s.aborts.medianMs, 2),
    fixed(s.aborts.maxMs, 2),
  ]);
  const resolveHeader = ['resolve(view)', 'shape', '', 'ns/op (median)', 'min', 'max'];
  const resolveLines = extras.resolve.map((r) => ['resolve', r.id, '', fixed(r.nsPerOp, 0), fixed(r.min, 0), fixed(r.max, 0)]);
  return `${markdownTable(streamHeader, streamLines)}\n\n${markdownTable(resolveHeader, resolveLines)}`;
}

function check(label, value, limit, pass, unit) {
  const shown = Number.isFinite(value) ? `${value.toFixed(2)}${unit}` : 'n/a';
  const verdict = !Number.isFinite(value) ? 'n/a ' : pass ? 'ok  ' : 'MISS';
  return `${verdict} ${label}: ${shown} (target ${limit})`;
}

/** The issue's targets, each marked ok or MISS for this run (never an exit code: CI does not gate on numbers). */
export function formatTargets(rows, extras) {
  const lines = ['Targets, this run:'];
  const row = (target, scenario, c) => rows.find((r) => r.target === target && r.scenario === scenario && r.connections === c);
  for (const target of ['demo-express', 'demo-koa']) {
    for (const scenario of ['v1-json', 'v1-stream']) {
      const r = row(target, scenario, 32);
      if (r) lines.push(check(`${target} ${scenario} c=32 × minimal`, r.vsMinimal, '≥ 0.85', r.vsMinimal >= 0.85, '×'));
    }
    const chat = row(target, 'api-chat', 32);
    if (chat) lines.push(check(`${target} api-chat c=32 × minimal`, chat.vsMinimal, '≥ 0.6', chat.vsMinimal >= 0.6, '×'));
  }
  // The adapters at their framework's floor: CPU per answer within 1.1× of the same framework's minimal route.
  for (const target of ['express-bare', 'koa-bare', 'demo-express', 'demo-koa']) {
    for (const scenario of ['v1-json', 'v1-stream']) {
      for (const c of [1, 32]) {
        const r = row(target, scenario, c);
        if (r) lines.push(check(`${target} ${scenario} c=${c} CPU/answer × minimal (${r.cpuUs.toFixed(0)} µs)`, r.cpuVsMinimal, '≤ 1.10', r.cpuVsMinimal <= 1.1, '×'));
      }
    }
  }
  for (const scenario of ['v1-json', 'v1-stream']) {
    const r = row('core-node', scenario, 32);
    if (r) lines.push(check(`core-node ${scenario} c=32 × proxy`, r.vsProxy, '≥ 0.9', r.vsProxy >= 0.9, '×'));
    // The core against the same minimal undici route with no framework around it (node-min).
    const floor = row('node-min', scenario, 32);
    if (r && floor) {
      const ratio = r.cpuUs / floor.cpuUs;
      lines.push(check(`core-node ${scenario} c=32 CPU/answer × node:http minimal (${r.cpuUs.toFixed(0)} vs ${floor.cpuUs.toFixed(0)} µs)`, ratio, '≤ 1.10', ratio <= 1.1, '×'));
    }
  }
  // Responses passed through costs what chat completions passed through cost: the server's CPU per answer.
  for (const target of ['core-node', 'demo-express', 'demo-koa']) {
    for (const [responses, chat] of [
      ['responses-json', 'v1-json'],
      ['responses-stream', 'v1-stream'],
    ]) {
      const r = row(target, responses, 32);
      const c = row(target, chat, 32);
      if (r && c) {
        const ratio = r.cpuUs / c.cpuUs;
        lines.push(check(`${target} ${responses} c=32 CPU/answer vs ${chat} (${r.cpuUs.toFixed(0)} vs ${c.cpuUs.toFixed(0)} µs)`, ratio, '≤ 1.10', ratio <= 1.1, '×'));
      }
    }
  }
  for (const r of rows.filter((x) => x.kind === 'subject' && x.connections === 1)) {
    lines.push(check(`${r.target} ${r.scenario} c=1 added p50`, r.addedP50, '≤ 1 ms', r.addedP50 <= 1, ' ms'));
  }
  if (extras) {
    for (const s of extras.streams) {
      lines.push(check(`${s.target} ${s.scenario} memory per open stream`, s.memory.rssPerStreamKiB, '≤ 150 KB', s.memory.rssPerStreamKiB * 1.024 <= 150, ' KiB'));
      lines.push(check(`${s.target} ${s.scenario} abort → upstream closed (median)`, s.aborts.medianMs, '≤ 100 ms', s.aborts.medianMs <= 100, ' ms'));
    }
    for (const r of extras.resolve) lines.push(check(`resolve ${r.id}`, r.nsPerOp / 1000, '≤ 5 µs', r.nsPerOp <= 5000, ' µs'));
  }
  return lines.join('\n');
}
