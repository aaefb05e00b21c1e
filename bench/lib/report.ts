import type { FanoutRow } from '../scenarios/fanout';

const table = (rows: Record<string, unknown>[], columns: [key: string, label: string][]): string =>
  [
    `| ${columns.map(([, label]) => label).join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${columns.map(([key]) => String(row[key] ?? '')).join(' | ')} |`),
  ].join('\n');

/** Server memory growth per viewer between the first step with many viewers and the largest clean one. */
function memoryLine(rows: FanoutRow[]): string {
  const clean = rows.filter((r) => r.lossPct < 0.5 && r.viewers >= 50);
  const first = clean[0];
  const last = clean[clean.length - 1];
  if (!first || !last || last.viewers === first.viewers) return '';
  const kb = ((last.serverRssMB - first.serverRssMB) * 1024) / (last.viewers - first.viewers);
  return `Server RSS grew ${kb.toFixed(0)} KB per viewer between ${first.viewers} and ${last.viewers} viewers (RSS at start-up is inflated by the embedded database and the TypeScript loader and shrinks after the first collections, so per-step figures say little).`;
}

/** Viewers one core of the server can carry at under 0.5% loss, from the best qualifying step. */
export function viewersPerCore(
  rows: FanoutRow[],
): { viewers: number; perCore: number } | undefined {
  const ok = rows.filter((r) => r.lossPct < 0.5 && r.serverCpuPct > 0);
  const best = ok[ok.length - 1];
  if (!best) return undefined;
  return { viewers: best.viewers, perCore: Math.round(best.viewers / (best.serverCpuPct / 100)) };
}

export function renderReport(results: Record<string, any>): {
  markdown: string;
  headline: string[];
} {
  const m = results.machine;
  const parts = [
    `# Benchmark results (${results.mode})`,
    '',
    `${results.startedAt} on ${m.cores} cores (${m.model}), ${m.memoryGiB} GiB, Node ${results.node}. The server runs in its own process on the embedded database; load generators run in other processes on the same machine, so their CPU is shown too.`,
    '',
    ...(results.sources
      ? [
          `Merged from ${results.sources.join(', ')} (later files' scenarios replace earlier ones').`,
          '',
        ]
      : []),
  ];
  const headline: string[] = [];
  if (results.fanout) {
    const rows = results.fanout as FanoutRow[];
    parts.push(
      '## 1. SFU fan-out (real VP8 + Opus, ~1.5 Mbit/s)',
      '',
      table(rows as never, [
        ['viewers', 'viewers'],
        ['serverCpuPct', 'server CPU %'],
        ['forwardedPps', 'forwarded pkt/s'],
        ['cpuUsPerPacket', 'CPU µs/pkt'],
        ['lossPct', 'loss %'],
        ['delayP50Ms', 'delay p50 ms'],
        ['delayP99Ms', 'delay p99 ms'],
        ['serverRssMB', 'server RSS MB'],
        ['loadCpuPct', 'load gen CPU %'],
      ]),
      '',
      '![fan-out](fanout.png)',
      '',
      memoryLine(rows),
      '',
    );
    if (results.fanoutBefore) {
      const before = results.fanoutBefore as FanoutRow[];
      const after = new Map(rows.map((r) => [r.viewers, r]));
      parts.push(
        '### Before and after the direct forwarding path',
        '',
        table(
          before
            .filter((b) => after.has(b.viewers))
            .map((b) => {
              const a = after.get(b.viewers)!;
              return {
                viewers: b.viewers,
                cpu: `${b.serverCpuPct} → ${a.serverCpuPct}`,
                us: `${b.cpuUsPerPacket} → ${a.cpuUsPerPacket}`,
                loss: `${b.lossPct} → ${a.lossPct}`,
                p99: `${b.delayP99Ms} → ${a.delayP99Ms}`,
              };
            }),
          [
            ['viewers', 'viewers'],
            ['cpu', 'server CPU %'],
            ['us', 'CPU µs/pkt'],
            ['loss', 'loss %'],
            ['p99', 'delay p99 ms'],
          ],
        ),
        '',
      );
      const b = viewersPerCore(before);
      if (b) headline.push(`Before the direct forwarding path: ${b.perCore} viewers per core`);
    }
    const best = viewersPerCore(rows);
    headline.push(
      best
        ? `Viewers per server core at <0.5% loss: ${best.perCore} (measured up to ${best.viewers} viewers)`
        : 'Viewers per server core: no step stayed under 0.5% loss',
    );
  }
  if (results.firstFrame) {
    const f = results.firstFrame;
    parts.push(
      '## 2. Time to first frame (Chromium viewers, fake-camera Chromium publisher)',
      '',
      table(
        [
          { path: 'WHEP', p50: f.whep.p50, p95: f.whep.p95, samples: f.whep.samples.join(', ') },
          {
            path: 'Socket.IO signalling',
            p50: f.socket.p50,
            p95: f.socket.p95,
            samples: f.socket.samples.join(', '),
          },
        ],
        [
          ['path', 'path'],
          ['p50', 'p50 ms'],
          ['p95', 'p95 ms'],
          ['samples', 'samples (ms)'],
        ],
      ),
      '',
    );
    headline.push(
      `First frame for a late joiner: p50 ${f.whep.p50} ms (WHEP), ${f.socket.p50} ms (web app signalling)`,
    );
  }
  if (results.chat) {
    parts.push(
      '## 3. Chat fan-out (10 senders, 10 comments/s)',
      '',
      table(results.chat, [
        ['sockets', 'sockets'],
        ['commentsSent', 'comments'],
        ['delivered', 'delivered'],
        ['lost', 'lost'],
        ['latencyP50Ms', 'latency p50 ms'],
        ['latencyP99Ms', 'latency p99 ms'],
        ['serverCpuPct', 'server CPU %'],
        ['rssPerSocketKB', 'server RSS/socket KB'],
        ['loadCpuPct', 'load gen CPU %'],
      ]),
      '',
    );
    const last = results.chat[results.chat.length - 1];
    headline.push(
      `Chat to ${last.sockets} sockets: p99 ${last.latencyP99Ms} ms, ${last.lost} lost`,
    );
  }
  if (results.api) {
    parts.push(
      '## 4. API under concurrent load (50 concurrent clients)',
      '',
      table(results.api, [
        ['endpoint', 'endpoint'],
        ['requests', 'requests'],
        ['rps', 'req/s'],
        ['p50Ms', 'p50 ms'],
        ['p99Ms', 'p99 ms'],
        ['errors', 'errors'],
      ]),
      '',
    );
    headline.push(
      ...results.api.map((r: any) => `${r.endpoint}: ${r.rps} req/s, p99 ${r.p99Ms} ms`),
    );
  }
  return { markdown: `${parts.join('\n')}\n`, headline };
}

/** Draws CPU % and loss % against viewers as SVG and has Chromium turn it into a PNG. */
export async function renderChart(rows: FanoutRow[], file: string): Promise<void> {
  const width = 800;
  const height = 420;
  const pad = { left: 60, right: 60, top: 40, bottom: 50 };
  const maxN = Math.max(...rows.map((r) => r.viewers), 1);
  const maxLoss = Math.max(1, ...rows.map((r) => r.lossPct));
  const x = (n: number) => pad.left + (n / maxN) * (width - pad.left - pad.right);
  const yCpu = (c: number) =>
    height - pad.bottom - (Math.min(c, 200) / 200) * (height - pad.top - pad.bottom);
  const yLoss = (l: number) =>
    height - pad.bottom - (l / maxLoss) * (height - pad.top - pad.bottom);
  const line = (f: (r: FanoutRow) => [number, number]) => rows.map((r) => f(r).join(',')).join(' ');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">
  <rect width="100%" height="100%" fill="white"/>
  <text x="${width / 2}" y="24" text-anchor="middle" font-size="16">SFU fan-out: server CPU and loss against viewers</text>
  <line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="#333"/>
  <line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" stroke="#333"/>
  <line x1="${width - pad.right}" y1="${pad.top}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="#333"/>
  ${[0, 50, 100, 150, 200].map((c) => `<text x="${pad.left - 8}" y="${yCpu(c) + 4}" text-anchor="end" fill="#1d4ed8">${c}%</text><line x1="${pad.left}" x2="${width - pad.right}" y1="${yCpu(c)}" y2="${yCpu(c)}" stroke="#eee"/>`).join('')}
  ${[0, 0.5, 1].map((f) => `<text x="${width - pad.right + 8}" y="${yLoss(f * maxLoss) + 4}" fill="#dc2626">${(f * maxLoss).toFixed(2)}%</text>`).join('')}
  ${rows.map((r) => `<text x="${x(r.viewers)}" y="${height - pad.bottom + 18}" text-anchor="middle">${r.viewers}</text>`).join('')}
  <text x="${width / 2}" y="${height - 12}" text-anchor="middle">viewers</text>
  <polyline fill="none" stroke="#1d4ed8" stroke-width="2.5" points="${line((r) => [x(r.viewers), yCpu(r.serverCpuPct)])}"/>
  <polyline fill="none" stroke="#dc2626" stroke-width="2.5" stroke-dasharray="6 4" points="${line((r) => [x(r.viewers), yLoss(r.lossPct)])}"/>
  <line x1="${pad.left}" x2="${width - pad.right}" y1="${yLoss(0.5)}" y2="${yLoss(0.5)}" stroke="#dc2626" stroke-opacity="0.3"/>
  <text x="${pad.left + 10}" y="${pad.top + 14}" fill="#1d4ed8">— server CPU % (one core = 100%)</text>
  <text x="${pad.left + 10}" y="${pad.top + 32}" fill="#dc2626">- - loss % (right axis; faint line: 0.5%)</text>
</svg>`;
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width, height } });
    await page.setContent(`<body style="margin:0">${svg}</body>`);
    await page.screenshot({ path: file });
  } finally {
    await browser.close();
  }
}
