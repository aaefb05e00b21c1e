import type { AbuseResult } from '../scenarios/abuse';
import type { AdaptiveResult } from '../scenarios/adaptive';
import type { RecordingBenchResult } from '../scenarios/recording';
import type { ChatResult, ChatStep } from '../scenarios/chat';
import type { ChurnResult } from '../scenarios/churn';
import type { FanoutResult, FanoutStep } from '../scenarios/fanout';
import { firstFrameDescription, type FirstFrameResult } from '../scenarios/first-frame';
import type { JoinsResult } from '../scenarios/joins';
import type { NodesResult, RelayState } from '../scenarios/nodes';
import { saturation, saturationRule } from './saturation';
import { spread, type Spread } from './stats';

export const table = (
  rows: Record<string, unknown>[],
  columns: [key: string, label: string][],
): string =>
  [
    `| ${columns.map(([, label]) => label).join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${columns.map(([key]) => String(row[key] ?? '')).join(' | ')} |`),
  ].join('\n');

const num = (x: number | undefined, digits = 1): string =>
  x === undefined || !Number.isFinite(x)
    ? '—'
    : String(Math.round(x * 10 ** digits) / 10 ** digits);

/** `median (min–max)` of repeated measurements. */
export const fmtSpread = (s: Spread | undefined, digits = 1): string =>
  !s || !Number.isFinite(s.median)
    ? '—'
    : s.min === s.max
      ? num(s.median, digits)
      : `${num(s.median, digits)} (${num(s.min, digits)}–${num(s.max, digits)})`;

/** What the report shows for a step's figure: nothing but the reason when the step is INVALID. */
const figure = (step: FanoutStep, text: string): string => (step.valid ? text : '—');

/** A fan-out step's figures as the fan-out and simulcast tables show them. */
const fanoutRow = (s: FanoutStep) => ({
  viewers: `${s.viewers}${s.retriedJoins ? ` (${s.retriedJoins} joins retried${s.failedJoins ? `, ${s.failedJoins} failed` : ''})` : ''}`,
  type: s.viewerType,
  valid: s.valid ? 'yes' : `**INVALID**: ${s.invalidReason ?? ''}`,
  cpu: figure(s, fmtSpread(s.summary.serverCpuPct)),
  pps: figure(s, fmtSpread(s.summary.forwardedPps, 0)),
  us: figure(s, fmtSpread(s.summary.cpuUsPerPacket, 2)),
  floor: s.floor
    ? s.floor.valid
      ? fmtSpread(s.floor.summary.cpuUsPerPacket, 2)
      : `INVALID: ${s.floor.invalidReason ?? ''}`
    : '—',
  ratio: figure(s, s.floor?.valid ? num(s.floorRatio, 2) : '—'),
  loss: figure(s, fmtSpread(s.summary.lossPct, 3)),
  p50: figure(s, fmtSpread(s.summary.delayP50Ms)),
  p99: figure(s, fmtSpread(s.summary.delayP99Ms)),
  loop: figure(s, fmtSpread(s.summary.eventLoopP99Ms)),
  rss: `${fmtSpread(spread(s.memory.map((r) => r.rssMB)))} (${s.serverProcesses})`,
  load: `${fmtSpread(s.summary.loadCpuPct)} / ${fmtSpread(s.summary.loadMaxProcessPct)} (${s.loadProcesses})`,
  idle: fmtSpread(s.summary.machineIdlePct),
});

function fanoutSection(f: FanoutResult, headline: string[]): string[] {
  const rows = f.steps.map(fanoutRow);
  const m = f.memory;
  const validSteps = f.steps.filter((s) => s.valid);
  const out = [
    '## 1. SFU fan-out (real VP8 + Opus, ~1.5 Mbit/s, one publisher)',
    '',
    `Viewers are added in a ramp (${f.steps.map((s) => s.viewers).join(' → ')}); each step is measured in ${f.repeats} windows of ${f.windowMs / 1000} s and every figure is the **median (min–max)** of those windows. Viewers in the load generator: ${f.viewerType}, ${f.viewersPerProcess} per process, plus ${f.probes} werift probe viewers in the harness process that decrypt everything and time each packet from the publisher (delay).`,
    '',
    '- **server CPU**: the server process plus all its child processes (media workers), re-read at every window; one core = 100%.',
    '- **µs/pkt**: server CPU time ÷ RTP packets received by all viewers in the window.',
    '- **UDP floor**: one process replaying the same fixture packets at the same timing and sending each, unencrypted, with `dgram.send` to as many UDP sockets in another process; its CPU per received packet, measured the same way. **× floor** = our median µs/pkt ÷ the floor’s median.',
    '- **event loop p99**: `onair_nodejs_eventloop_lag_p99_seconds` from `GET /metrics`, scraped at the start of each window (which resets it) and at its end: the API process only. It includes the 10 ms sampling interval of `monitorEventLoopDelay`, so an idle loop reads about 10 ms.',
    '- **server RSS**: summed over the server process and its children (their number in brackets), read after the step’s windows, each time 1 s after the main process collected its garbage (through the inspector the harness opens on a loopback port; media workers are not collected). Shown even for INVALID steps.',
    '- **load gen CPU**: all load-generator processes together / the busiest one, share of one core (number of processes in brackets).',
    `- **INVALID**: ${saturationRule}; its figures are not reported as results (they stay in the JSON).`,
    '',
    table(rows, [
      ['viewers', 'viewers'],
      ['type', 'viewer type'],
      ['valid', 'valid'],
      ['cpu', 'server CPU %'],
      ['pps', 'forwarded pkt/s'],
      ['us', 'µs/pkt'],
      ['floor', 'UDP floor µs/pkt'],
      ['ratio', '× floor'],
      ['loss', 'loss %'],
      ['p50', 'delay p50 ms'],
      ['p99', 'delay p99 ms'],
      ['loop', 'event loop p99 ms'],
      ['rss', 'server RSS MB (processes)'],
      ['load', 'load gen CPU % all / busiest (processes)'],
      ['idle', 'machine idle %'],
    ]),
    '',
  ];
  if (f.stoppedEarly) out.push(`Ramp ${f.stoppedEarly}.`, '');
  if (m.rssKBPerViewer !== undefined) {
    const unreliable = (r2: number | undefined) =>
      r2 !== undefined && r2 < 0.9
        ? ` — **not reliable** (r² ${num(r2, 3)}): memory moved for reasons other than viewers (V8's and the allocator's housekeeping; see the readings)`
        : ` (r² ${num(r2, 3)})`;
    out.push(
      `Memory per viewer, least-squares slope over ${m.points.length} readings (${f.repeats} per step, 2 s apart, each 1 s after the main process collected its garbage): server RSS (main + children) **${num(m.rssKBPerViewer, 0)} KB per viewer**${unreliable(m.rssR2)}; heap of the API process **${num(m.heapKBPerViewer, 0)} KB per viewer**${unreliable(m.heapR2)}, from \`onair_nodejs_heap_size_used_bytes\` in \`GET /metrics\`, which covers the main process only, not media workers. Steps marked INVALID are included: memory does not depend on the load generator keeping up. Readings (viewers: server RSS MB, of which the API process's V8 young generation MB): ${f.steps.map((s) => `${s.connected}: ${s.memory.map((r) => `${num(r.rssMB)} (${num(r.youngGenerationMB)})`).join(', ')}`).join('; ')}.`,
      '',
    );
  }
  if (f.steps.length) out.push('![fan-out](fanout.png)', '');
  const best = validSteps[validSteps.length - 1];
  if (best)
    headline.push(
      `Fan-out at ${best.viewers} viewers (${best.viewerType}): ${fmtSpread(best.summary.cpuUsPerPacket, 2)} µs/pkt${best.floorRatio !== undefined ? ` (${best.floorRatio}× the UDP floor)` : ''}, loss ${num(best.summary.lossPct.median, 3)}%, delay p99 ${num(best.summary.delayP99Ms.median)} ms, event loop p99 ${num(best.summary.eventLoopP99Ms.median)} ms`,
    );
  else headline.push('Fan-out: no valid step');
  if (m.rssKBPerViewer !== undefined)
    headline.push(`Server memory: ${num(m.rssKBPerViewer, 0)} KB RSS per viewer`);
  return out;
}

/**
 * The simulcast fan-out beside the single-layer one: the same windows and figures, with what
 * each viewer got by the quality it asked for, and the single-layer µs/pkt and × floor at the same
 * number of viewers when the fan-out ran too.
 */
function simulcastSection(
  f: FanoutResult,
  single: FanoutResult | undefined,
  headline: string[],
): string[] {
  const singleAt = (viewers: number) => single?.steps.find((s) => s.viewers === viewers);
  const rows = f.steps.map((s) => {
    const one = singleAt(s.viewers);
    const seconds = s.windows.reduce((sum, w) => sum + w.seconds, 0) || 1;
    const qualities = Object.entries(s.byQuality ?? {})
      .map(
        ([quality, c]) =>
          `${quality}: ${c.viewers} × ${num(c.received / Math.max(1, c.viewers) / seconds, 0)} pkt/s${c.silent ? `, ${c.silent} silent` : ''}`,
      )
      .join('; ');
    return {
      ...fanoutRow(s),
      layers: s.layerViewers
        ? `${s.layerViewers.join(' / ')} (${s.layerViewers.reduce((a, b) => a + b, 0)} of ${s.connected + f.probes})`
        : '—',
      qualities: qualities || '—',
      singleUs: one ? figure(one, fmtSpread(one.summary.cpuUsPerPacket, 2)) : '—',
      singleRatio: one ? figure(one, one.floor?.valid ? num(one.floorRatio, 2) : '—') : '—',
    };
  });
  const m = f.memory;
  const mbPerViewer = m.rssKBPerViewer === undefined ? undefined : m.rssKBPerViewer / 1024;
  const out = [
    `## 1b. Simulcast fan-out (${f.layers} layers, viewers spread over ${(f.qualities ?? []).join(' / ')})`,
    '',
    `The fan-out of section 1 with a publisher that sends the same VP8 fixture in ${f.layers} video sections (sendonly, one codec, lowest first), each a layer to the server; the layers carry equal bit rates (the same replay), which is enough for what the server spends per forwarded packet. Load-generator viewer i asks for \`${JSON.stringify(f.qualities ?? [])}[i mod ${f.qualities?.length ?? 1}]\` on its WHEP URL (\`?quality=\`); the two probe viewers ask for low and high. Steps ${f.steps.map((s) => s.viewers).join(' → ')}, ${f.repeats} windows of ${f.windowMs / 1000} s each, figures as in section 1.`,
    '',
    '- **viewers per layer**: as the server last reported them in the step (`live_layers`, what the host’s health panel shows), lowest first, probes included; in brackets their sum and the viewers connected (fewer in the sum when the origin’s media worker, which reports, had no demand report from another worker that serves viewers in the last 3.5 s).',
    '- **received by quality**: load-generator viewers that asked for each quality × the packets per second each received on average; **silent**: viewers that heard no audio or no video in some window.',
    '- **INVALID** also when a viewer heard no audio or video, a quality’s viewers received nothing, or the server did not report a viewer on every layer.',
    single
      ? '- **single-layer**: the fan-out of section 1 at the same number of viewers, from this run.'
      : '- **single-layer**: the fan-out did not run with this one (`--only fanout,simulcast` runs both).',
    `- Publisher keyframe requests (PLI) received per layer over the run: ${f.keyframeRequests.join(' / ')}.`,
    '',
    table(rows, [
      ['viewers', 'viewers'],
      ['valid', 'valid'],
      ['layers', 'viewers per layer'],
      ['qualities', 'received by quality'],
      ['cpu', 'server CPU %'],
      ['pps', 'forwarded pkt/s'],
      ['us', 'µs/pkt'],
      ['singleUs', 'single-layer µs/pkt'],
      ['floor', 'UDP floor µs/pkt'],
      ['ratio', '× floor'],
      ['singleRatio', 'single-layer × floor'],
      ['loss', 'loss %'],
      ['p50', 'delay p50 ms'],
      ['p99', 'delay p99 ms'],
      ['loop', 'event loop p99 ms'],
      ['rss', 'server RSS MB (processes)'],
      ['load', 'load gen CPU % all / busiest (processes)'],
      ['idle', 'machine idle %'],
    ]),
    '',
  ];
  if (f.stoppedEarly) out.push(`Ramp ${f.stoppedEarly}.`, '');
  if (mbPerViewer !== undefined)
    out.push(
      `Memory per viewer: server RSS (main + children) **${num(mbPerViewer, 3)} MB per viewer** (least squares over ${m.points.length} readings, r² ${num(m.rssR2, 3)}${m.rssR2 !== undefined && m.rssR2 < 0.9 ? ' — **not reliable**' : ''}); API-process heap ${num(m.heapKBPerViewer, 0)} KB per viewer. Readings (viewers: server RSS MB): ${f.steps.map((s) => `${s.connected}: ${s.memory.map((r) => num(r.rssMB)).join(', ')}`).join('; ')}.`,
      '',
    );
  const validSteps = f.steps.filter((s) => s.valid);
  if (validSteps.length)
    headline.push(
      ...validSteps.map((s) => {
        const one = singleAt(s.viewers);
        return `Simulcast fan-out at ${s.viewers} viewers: ${fmtSpread(s.summary.cpuUsPerPacket, 2)} µs/pkt${s.floorRatio !== undefined ? ` (${s.floorRatio}× the UDP floor)` : ''}${one?.valid ? ` vs ${num(one.summary.cpuUsPerPacket.median, 2)} single-layer` : ''}, loss ${num(s.summary.lossPct.median, 3)}%, viewers per layer ${s.layerViewers?.join('/') ?? '—'}`;
      }),
    );
  else headline.push('Simulcast fan-out: no valid step');
  if (mbPerViewer !== undefined)
    headline.push(`Simulcast server memory: ${num(mbPerViewer, 3)} MB RSS per viewer`);
  return out;
}

function firstFrameSection(f: FirstFrameResult, headline: string[]): string[] {
  const rows = f.series.map((s) => ({
    client: firstFrameDescription[s.path],
    p50: num(s.p50, 0),
    p95: num(s.p95, 0),
    from: s.path === 'socket' ? 'start' : 'POST',
    startP50: num(s.fromStartP50, 0),
    gathering: num(s.gatheringP50, 0),
    joins: `${s.samples.length}${s.failures.length ? ` (${s.failures.length} failed)` : ''}`,
    samples: s.samples.join(', '),
  }));
  for (const s of f.series)
    if (s.path !== 'socket')
      headline.push(
        `First frame, ${s.path}: p50 ${num(s.p50, 0)} ms, p95 ${num(s.p95, 0)} ms from the POST`,
      );
  const failures = f.series.flatMap((s) => s.failures.slice(0, 2).map((e) => `${s.path}: ${e}`));
  return [
    '## 2. Time to first frame (Chromium viewers, fake-camera Chromium publisher)',
    '',
    'Fresh page per join, joins alternating between the clients. WHEP figures are measured from the POST of the offer to the first decoded frame (`requestVideoFrameCallback`); the non-trickle client waits for its own ICE gathering to complete before it POSTs, as OBS and many players do, and that wait is shown apart (it is in "from start"). Chromium runs with `--allow-loopback-in-peer-connection`.',
    '',
    table(rows, [
      ['client', 'client'],
      ['p50', 'p50 ms'],
      ['p95', 'p95 ms'],
      ['from', 'measured from'],
      ['startP50', 'p50 from start ms'],
      ['gathering', 'gathering wait p50 ms'],
      ['joins', 'joins'],
      ['samples', 'samples (ms)'],
    ]),
    '',
    ...(failures.length ? ['Failures: ' + failures.join('; '), ''] : []),
  ];
}

function churnSection(c: ChurnResult, headline: string[]): string[] {
  headline.push(
    `Session churn: ${num(c.mbPer1000, 2)} MB of server RSS per 1,000 WHEP sessions opened and closed`,
  );
  return [
    '## 3. Session churn (WHEP viewers opened and closed)',
    '',
    `${c.sessions} WHEP sessions, ${c.parallel} at a time (a user each), each a node-datachannel viewer that connects to the live stream and then DELETEs its resource (${c.failed} failed; ${c.seconds} s), after ${c.warmup} warm-up sessions that are not counted. Server RSS (main + children) read 2 s after each batch and then 10 s after a full collection in the main process${c.gcForced ? '' : ' (**could not be forced this run**)'}, so that V8's memory reducer has given back what it gives back on a quiet heap; the young generation of the API process is shown because V8 sizes it by allocation rate, not by what is retained:`,
    '',
    table(
      c.points.map((p) => ({
        sessions: p.sessions,
        rss: num(p.rssMB),
        heap: num(p.heapUsedMB),
        young: num(p.youngGenerationMB),
        processes: p.serverProcesses,
      })),
      [
        ['sessions', 'sessions closed'],
        ['rss', 'server RSS MB'],
        ['heap', 'API heap used MB'],
        ['young', 'API young generation MB'],
        ['processes', 'server processes'],
      ],
    ),
    '',
    `**${num(c.mbPer1000, 2)} MB of RSS per 1,000 sessions** (after − before; least-squares slope over the points: ${num(c.slopeMbPer1000, 2)} MB per 1,000), API-process heap ${num(c.heapMbPer1000, 2)} MB per 1,000.`,
    '',
    ...(c.errors.length ? ['Failures: ' + c.errors.join('; '), ''] : []),
  ];
}

function chatSection(c: ChatResult, headline: string[]): string[] {
  const s = c.settings;
  const shown = (step: ChatStep, text: string) => (step.valid ? text : '—');
  const rows = c.steps.map((step) => ({
    sockets: step.sockets,
    valid: step.valid ? 'yes' : `**INVALID**: ${step.invalidReason ?? ''}`,
    p50: shown(step, fmtSpread(step.summary.latencyP50Ms, 0)),
    p99: shown(step, fmtSpread(step.summary.latencyP99Ms, 0)),
    lost: shown(step, fmtSpread(step.summary.lost, 0)),
    delivered: step.runs.map((r) => `${r.received}/${r.expected}`).join(', '),
    server: shown(step, fmtSpread(step.summary.serverCpuPct)),
    loop: shown(step, fmtSpread(step.summary.serverEventLoopP99Ms)),
    generator: fmtSpread(step.summary.generatorMaxPct),
    idle: fmtSpread(step.summary.machineIdlePct),
    load: step.runs.map((r) => r.loadAverage[0]).join(', '),
  }));
  const m = c.memory;
  const fit = (kb: number | undefined, r2: number | undefined) =>
    kb === undefined
      ? '—'
      : `**${num(kb, 2)} KB per socket** (r² ${num(r2, 3)}${r2 !== undefined && r2 < 0.9 ? ': **not reliable**, memory moved for reasons other than sockets' : ''})`;
  const out = [
    `## 4. Chat at scale (one stream, ${s.rate} comments/s, open loop)`,
    '',
    `Receiving sockets are anonymous viewers joined to one public stream's room, spread over ${s.receiverProcesses} load-generator processes; ${s.senders} signed-in sockets in the same room (one user each) send ${s.rate} comments/s between them on a fixed schedule, each comment when it is due whatever the earlier ones did (open loop). Both speak the Socket.IO wire protocol over raw WebSockets (Engine.IO v4 + Socket.IO v5, no socket.io-client); a receiver finds the stamp in each frame with a byte search and decodes nothing. Each step is ${s.runs} runs of ${s.seconds} s; every figure is the **median (min–max)** of the runs. The server is the compiled one, run with plain \`node\` as \`npm start\` does.`,
    '',
    '- **latency**: from the time a comment was due to be sent (stamped in its text) to its arrival at a receiving socket, one clock; every delivery counts.',
    `- **lost**: deliveries expected (comments the server did not refuse × receiving sockets; one never acknowledged is expected) but not received ${s.drainMs / 1000} s after the last acknowledgement.`,
    '- **server CPU**: the server’s main process (Socket.IO, API, embedded database), one core = 100%; **event loop p99** of the same process from `GET /metrics`.',
    '- **load gen busiest**: the busiest load-generator process (receivers, sender, harness), share of one core.',
    '- **load avg**: the machine’s 1-minute load average at the start of each run.',
    `- **INVALID**: ${saturationRule}; or the sender went out more than ${s.maxSenderLagMs} ms after its schedule. Its figures are not reported as results (they stay in the JSON).`,
    '',
    table(rows, [
      ['sockets', 'receiving sockets'],
      ['valid', 'valid'],
      ['p50', 'latency p50 ms'],
      ['p99', 'latency p99 ms'],
      ['lost', 'lost'],
      ['delivered', 'delivered / expected (each run)'],
      ['server', 'server CPU %'],
      ['loop', 'event loop p99 ms'],
      ['generator', 'load gen busiest %'],
      ['idle', 'machine idle %'],
      ['load', 'load avg (each run)'],
    ]),
    '',
    `Memory per idle socket, from a ramp before any comment was sent (${m.points.map((p) => p.sockets).join(' → ')} receiving sockets joined to the room, each reading 1 s after the main process collected its garbage): server main-process RSS ${fit(m.rssKBPerSocket, m.rssR2)}; V8 heap used ${fit(m.heapKBPerSocket, m.heapR2)}. Readings (sockets: RSS MB / heap MB): ${m.points.map((p) => `${p.sockets}: ${num(p.rssMB)} / ${num(p.heapUsedMB)}`).join('; ')}.`,
    '',
  ];
  const anomalies = c.steps.flatMap((step) =>
    step.runs.flatMap((r, i) => {
      const notes = [
        ...Object.entries(r.refused).map(([code, n]) => `${n} comments refused (${code})`),
        r.ackTimeouts ? `${r.ackTimeouts} comments never acknowledged` : '',
        r.duplicates ? `${r.duplicates} duplicate deliveries` : '',
        r.closedSockets ? `${r.closedSockets} receiving sockets closed by the server` : '',
      ].filter(Boolean);
      return notes.length ? [`${step.sockets} sockets, run ${i + 1}: ${notes.join(', ')}`] : [];
    }),
  );
  if (anomalies.length) out.push(`Also seen: ${anomalies.join('; ')}.`, '');
  if (c.connectFailures.length)
    out.push(`Sockets that failed to join: ${c.connectFailures.join('; ')}`, '');
  const last = c.steps[c.steps.length - 1];
  if (last)
    headline.push(
      last.valid
        ? `Chat to ${last.sockets} sockets: p99 ${fmtSpread(last.summary.latencyP99Ms, 0)} ms, lost ${fmtSpread(last.summary.lost, 0)}, server ${fmtSpread(last.summary.serverCpuPct)}% CPU`
        : `Chat to ${last.sockets} sockets: INVALID (${last.invalidReason ?? ''})`,
    );
  if (m.rssKBPerSocket !== undefined)
    headline.push(
      `Chat memory: ${num(m.rssKBPerSocket, 2)} KB RSS per idle socket (r² ${num(m.rssR2, 3)})`,
    );
  return out;
}

/** The report of ONE run's results JSON. */
function abuseSection(a: AbuseResult, headline: string[]): string[] {
  const { rate, mixSockets, seconds, runs, probes, probeIntervalMs } = a.settings;
  const rows = a.phases.map((p) => {
    const sum = (pick: (r: (typeof p.runs)[number]) => number) =>
      p.runs.reduce((n, r) => n + pick(r), 0);
    const shown = (text: string) => (p.valid ? text : '—');
    return {
      flood: p.name,
      valid: p.valid ? 'yes' : `**INVALID**: ${p.invalidReason ?? ''}`,
      chatP50: shown(fmtSpread(p.summary.chatP50Ms)),
      chatP99: shown(fmtSpread(p.summary.chatP99Ms)),
      healthP50: shown(fmtSpread(p.summary.healthP50Ms)),
      healthMax: shown(fmtSpread(p.summary.healthMaxMs)),
      healthFailed: sum((r) => r.healthFailures),
      cpu: shown(fmtSpread(p.summary.serverCpuPct)),
      sent: sum((r) => r.sent),
      refused: sum((r) => r.refused),
      disconnected: `${sum((r) => r.disconnects)} of ${sum((r) => r.connections)}`,
      dropped: sum((r) => r.probesDropped),
    };
  });
  const worst = Math.max(...a.phases.filter((p) => p.valid).map((p) => p.summary.chatP99Ms.max));
  headline.push(`abuse: worst probe chat p99 ${num(worst)} ms over ${a.phases.length} floods`);
  return [
    '## Abuse: one client flooding each event (issue 16)',
    '',
    `For each event, one socket sends it ${rate}/s for ${seconds} s (connecting again whenever the server disconnects it), then ${mixSockets} sockets send a mix at ${rate}/s in all; ${runs} run(s) each, median (min–max). ${probes} signed-in probes in a live stream take turns to comment every ${probeIntervalMs} ms (chat = send to ack); \`/api/health\` is asked every 100 ms (2 s timeout). Server CPU covers its main process and media workers. Validity: ${saturationRule}.`,
    '',
    table(rows, [
      ['flood', 'flood'],
      ['valid', 'valid'],
      ['chatP50', 'chat p50 ms'],
      ['chatP99', 'chat p99 ms'],
      ['healthP50', 'health p50 ms'],
      ['healthMax', 'health max ms'],
      ['healthFailed', 'health failed'],
      ['cpu', 'server CPU %'],
      ['sent', 'events sent'],
      ['refused', 'rate_limited'],
      ['disconnected', 'flooders disconnected'],
      ['dropped', 'probes dropped'],
    ]),
    '',
  ];
}

function joinsSection(j: JoinsResult, headline: string[]): string[] {
  const { sockets, runs, workerProcesses } = j.settings;
  const rows = j.steps.map((step) => {
    const shown = (text: string) => (step.valid ? text : '—');
    return {
      database: step.database,
      valid: step.valid ? 'yes' : `**INVALID**: ${step.invalidReason ?? ''}`,
      rate: shown(fmtSpread(step.summary.joinsPerSecond, 0)),
      storm: shown(fmtSpread(step.summary.stormMs, 0)),
      p50: shown(fmtSpread(step.summary.ackP50Ms, 0)),
      p99: shown(fmtSpread(step.summary.ackP99Ms, 0)),
      exact: `${step.runs.filter((r) => r.exact).length} of ${step.runs.length}`,
      refused: step.runs.reduce(
        (n, r) => n + Object.values(r.refused).reduce((a, b) => a + b, 0),
        0,
      ),
      cpu: shown(fmtSpread(step.summary.serverCpuPct)),
      cpuPerJoin: shown(fmtSpread(step.summary.serverCpuMsPerJoin, 3)),
      idle: fmtSpread(step.summary.machineIdlePct),
    };
  });
  for (const step of j.steps.filter((s) => s.valid))
    headline.push(
      `joins (${step.database}): ${num(step.summary.joinsPerSecond.median, 0)} joins/s for ${sockets} sockets, counts exact in ${step.runs.filter((r) => r.exact).length} of ${step.runs.length}`,
    );
  return [
    '## Join storms (issue 17)',
    '',
    `${sockets} anonymous sockets, connected beforehand from ${workerProcesses} processes, send \`join_live\` for one stream at the same moment (one early viewer joined alone first); ${runs} storm(s) per database on one server process each, median (min–max). **joins/s** = joins acknowledged ÷ the time from the first send to the last acknowledgement; **exact** = runs whose count and peak were exactly the early viewer plus every acknowledged join once settled. Server CPU is the server process (the PostgreSQL server's own processes are not counted); **CPU ms/join** is its CPU time over the storm ÷ joins acknowledged, which a busy machine does not inflate the way it slows the storm. A run is INVALID when a load-generator process used ≥ ${saturation.loadProcessShare * 100}% of a core; machine idle is shown, not held against a run (the server and its database use both cores of a small machine during a storm).`,
    '',
    table(rows, [
      ['database', 'database'],
      ['valid', 'valid'],
      ['rate', 'joins/s'],
      ['storm', 'storm ms'],
      ['p50', 'ack p50 ms'],
      ['p99', 'ack p99 ms'],
      ['exact', 'exact'],
      ['refused', 'refused'],
      ['cpu', 'server CPU %'],
      ['cpuPerJoin', 'server CPU ms/join'],
      ['idle', 'machine idle %'],
    ]),
    '',
    `The machine's 1-minute load average as each storm began (anything else it ran counts): ${j.steps.map((step) => `${step.database} ${step.runs.map((r) => num(r.loadAverage[0], 1)).join(', ')}`).join('; ')}.`,
    '',
  ];
}

function nodesSection(n: NodesResult, headline: string[]): string[] {
  const { repeats, windowMs, kills } = n.settings;
  const r = n.relay;
  const shown = (text: string) => (r.valid ? text : '—');
  const stateNames: Record<RelayState, string> = {
    none: 'publisher only',
    edge1: '1 edge pulling',
    edge2: '2 edges pulling',
    'edge2+local': '2 edges + 1 local viewer',
  };
  const relayRows = [
    {
      what: 'origin media worker CPU % (by state)',
      value: (Object.keys(stateNames) as RelayState[])
        .map((s) => `${stateNames[s]}: ${fmtSpread(r.summary.workerCpuPct[s], 2)}`)
        .join('; '),
    },
    {
      what: 'µs per relayed packet, 1 edge',
      value: shown(fmtSpread(r.summary.usPerRelayedPacketEdge1, 2)),
    },
    {
      what: 'µs per relayed packet, 2 edges',
      value: shown(fmtSpread(r.summary.usPerRelayedPacketEdge2, 2)),
    },
    {
      what: 'µs per relayed packet per edge, slope over 0–2 edges',
      value: shown(
        r.summary.usPerRelayedPacketSlope === undefined
          ? '—'
          : `${num(r.summary.usPerRelayedPacketSlope, 2)} (r² ${num(r.summary.slopeR2, 3)})`,
      ),
    },
    {
      what: 'µs per packet forwarded to 1 local viewer',
      value: shown(fmtSpread(r.summary.usPerLocalPacket, 2)),
    },
    { what: 'added delay per hop p50 ms', value: shown(fmtSpread(r.summary.hopP50Ms, 2)) },
    { what: 'added delay per hop p99 ms', value: shown(fmtSpread(r.summary.hopP99Ms, 2)) },
  ];
  const f = n.failover;
  const done = f.rounds.filter((x) => !x.error);
  const failoverRows = f.rounds.map((x, i) => ({
    round: i + 1,
    killed: x.killed,
    on: x.error ? `**FAILED**: ${x.error}` : x.takenOverOn,
    refusals: x.refusals,
    answered: num(x.answeredMs, 0),
    takeover: num(x.takeoverMs, 0),
    media: x.viewerMediaMs.map((v) => num(v, 0)).join(' / '),
  }));
  headline.push(
    r.valid
      ? `nodes: relay ${fmtSpread(r.summary.usPerRelayedPacketEdge1, 2)} µs per packet per edge (local viewer ${fmtSpread(r.summary.usPerLocalPacket, 2)}), hop p50 ${fmtSpread(r.summary.hopP50Ms, 2)} ms, p99 ${fmtSpread(r.summary.hopP99Ms, 2)} ms`
      : 'nodes: relay windows INVALID',
    `nodes: failover (kill → media again) p50 ${num(f.p50.mediaMs, 0)} ms, p95 ${num(f.p95.mediaMs, 0)} ms over ${done.length} of ${f.rounds.length} kills`,
  );
  return [
    '## Three nodes of one deployment (issue 17)',
    '',
    `Three server processes on this machine, one PostgreSQL database, one Redis, one \`JWT_SECRET\`, \`MEDIA_WORKERS=1\` each; the WHIP publisher (werift, the VP8 + Opus fixture at its recorded timing) and the decrypting WHEP viewers run in the harness process. Machine load average (1, 5, 15 min) at the start: ${n.loadAverage.start.join(', ')}; at the end: ${n.loadAverage.end.join(', ')}.`,
    '',
    `**Relay cost and delay.** CPU of the origin's media worker, summed over its threads from \`/proc/<pid>/task/*/schedstat\` (nanoseconds), in ${repeats} windows of ${windowMs / 1000} s per state: publisher only; a viewer on node 2 (one edge pulls); another on node 3 (two edges); and a viewer on the origin. **µs per relayed packet** = a window's CPU above the median of "publisher only" ÷ (packets published × edges); the **slope** is a least-squares line through every window of 0, 1 and 2 edges (CPU µs per published packet against edges); **local viewer** = a window's CPU above the median of "2 edges" ÷ packets that viewer received. **Delay per hop** = arrival of the same packet (by payload) at an edge's viewer − at the origin's viewer, in the last state. Median (min–max) of the windows; a window in which the harness process used ≥ ${saturation.loadProcessShare * 100}% of a core is INVALID.`,
    '',
    table(relayRows, [
      ['what', ''],
      ['value', 'median (min–max)'],
    ]),
    '',
    `**Failover** (${kills} origin kills). A stream is published over WHIP on one node, with one WHEP viewer on each of the two others; every process of that node (main and media worker) gets SIGKILL at once. The publisher then POSTs its offer with the same key to a surviving node every 500 ms (alternating between them), as OBS reconnects through a load balancer; the viewers keep their sessions. **accepted** = kill → the 201 that accepted the new publisher; **connected** = kill → that publisher connected (ICE + DTLS) and sending; **media** = kill → the first packet at each surviving viewer (the later of the two in the summary). The killed node is started again (same \`NODE_ID\`) before the next round, and the next round's origin is the next node.`,
    '',
    table(
      [
        {
          what: 'kill → takeover accepted (201) ms',
          p50: num(f.p50.answeredMs, 0),
          p95: num(f.p95.answeredMs, 0),
          spread: fmtSpread(f.summary.answeredMs, 0),
        },
        {
          what: 'kill → new publisher connected ms',
          p50: num(f.p50.takeoverMs, 0),
          p95: num(f.p95.takeoverMs, 0),
          spread: fmtSpread(f.summary.takeoverMs, 0),
        },
        {
          what: 'publisher connected → media ms (later viewer)',
          p50: '',
          p95: '',
          spread: fmtSpread(f.summary.takeoverToMediaMs, 0),
        },
        {
          what: 'kill → media again ms (later viewer)',
          p50: num(f.p50.mediaMs, 0),
          p95: num(f.p95.mediaMs, 0),
          spread: fmtSpread(f.summary.mediaMs, 0),
        },
      ],
      [
        ['what', ''],
        ['p50', 'p50'],
        ['p95', 'p95'],
        ['spread', 'median (min–max)'],
      ],
    ),
    '',
    table(failoverRows, [
      ['round', 'kill'],
      ['killed', 'origin killed'],
      ['on', 'taken over on'],
      ['refusals', 'POSTs refused first'],
      ['answered', 'accepted ms'],
      ['takeover', 'connected ms'],
      ['media', 'media again ms (each viewer)'],
    ]),
    '',
    ...(n.joins ? joinsSection(n.joins, headline) : []),
  ];
}

function recordingSection(r: RecordingBenchResult, headline: string[]): string[] {
  const lines = ['## Recording and live HLS (issue 20)', ''];
  const mb = (bytes: number) => `${num(bytes / 1e6, 0)} MB`;
  const pct = (s: { median: number; min: number; max: number }) =>
    `${num(s.median * 100)}% (${num(s.min * 100)}–${num(s.max * 100)}%)`;
  if (r.cpu) {
    const c = r.cpu;
    lines.push(
      `**CPU.** ${c.streams} streams of the VP8 + Opus fixture (720p, about 1.5 Mbit/s), no viewers, one media worker; the server's processes over ${c.windows ?? 3} windows of ${c.windowSeconds} s each (median, min–max), on a server started with \`RECORDINGS_DIR=none\` and on one that records and packages every stream.${c.valid ? '' : ' **Invalid: the load generator was saturated.**'}`,
      '',
      '| server | CPU, share of one core |',
      '| --- | --- |',
      `| no recording | ${pct(c.withoutRecording)} |`,
      `| recording + live HLS | ${pct(c.withRecording)} |`,
      '',
      `Recording and packaging cost **${num(c.msPerStreamSecond, 2)} ms of CPU per second of media per stream** (the difference of the medians, divided by ${c.streams}). Load generator: ${num(c.loadGeneratorShare * 100)}% of a core at most. Disk: ${mb(c.bytesPerHour)} per hour of the fixture.`,
      '',
    );
    headline.push(`Recording: ${num(c.msPerStreamSecond, 2)} ms CPU per stream-second`);
  }
  if (r.latency) {
    const l = r.latency;
    lines.push(
      `**Glass to glass.** A web-app broadcaster whose camera is a canvas showing the time as blocks (H.264, simulcast), a web-app viewer on live HLS (\`?playback=hls\`) and one on WebRTC, each reading the time off the frame it shows every 250 ms. Segments: ${num(l.segmentSeconds, 2)} s (median).`,
      '',
      '| player | samples | p50 ms | p95 ms |',
      '| --- | --- | --- | --- |',
      `| live HLS | ${l.hls.samples} | ${num(l.hls.p50, 0)} | ${num(l.hls.p95, 0)} |`,
      `| WebRTC | ${l.webrtc.samples} | ${num(l.webrtc.p50, 0)} | ${num(l.webrtc.p95, 0)} |`,
      '',
      `HLS p50 per 10 s window: ${num(l.hls.windowsP50.median, 0)} ms (${num(l.hls.windowsP50.min, 0)}–${num(l.hls.windowsP50.max, 0)}). Disk while live (every layer): ${mb(l.bytesPerHour)} per hour of the web app's 720p.`,
      '',
    );
    headline.push(
      `Live HLS glass-to-glass p50 ${num(l.hls.p50, 0)} ms, p95 ${num(l.hls.p95, 0)} ms`,
    );
  }
  return lines;
}

function adaptiveSection(a: AdaptiveResult, headline: string[]): string[] {
  const title = '## Adaptive quality: a viewer on a limited downlink (issue 19)';
  if (a.skipped) return [title, '', `Not run: ${a.skipped}.`, ''];
  const heights = (h: Record<number, number> | undefined) =>
    Object.entries(h ?? {})
      .map(([height, share]) => `${height}p ${Math.round(share * 100)}%`)
      .join(', ');
  const phases = (a.phases ?? []).map((p) => ({
    link: `${p.rateKbit} kbit/s, ${p.delayMs} ms${p.delayApplied ? '' : ' (not applied)'}, ${p.lossPercent}% loss`,
    seconds: p.seconds,
    settle: p.settleSeconds === null ? 'never' : num(p.settleSeconds),
    heights: heights(p.heights),
    fps: num(p.fps),
    kbps: num(p.kbps, 0),
    stalls: p.stalls,
    chromium: p.chromiumFreezes,
    freezes: p.freezes ?? '—',
    drops: `${p.link.queueDrops} queue, ${p.link.lossDrops} random of ${p.link.sentPackets + p.link.queueDrops + p.link.lossDrops}`,
  }));
  const freezes = a.freezes ?? { stalls: 0, chromium: 0 };
  const onScreen =
    freezes.onScreen === undefined
      ? `${freezes.stalls} stalls ≥ 500 ms`
      : `${freezes.onScreen} freezes over 500 ms on screen (longest pause ${freezes.longestPauseMs ?? 0} ms)`;
  headline.push(
    `Adaptive: limited viewer ${(a.phases ?? []).map((p) => `${p.rateKbit} kbit/s → ${heights(p.heights)} at ${num(p.fps)} fps`).join('; ')}; ${onScreen} in the minute`,
  );
  return [
    title,
    '',
    `A web-app broadcaster (fake camera, top layer ${a.topHeight}p) and two web-app viewers: one in a network namespace whose downlink (htb at the rate, a 200 ms byte queue, random loss, and the delay from netem or, where the kernel lacks it, a bridge in a namespace of its own) changes as below, one unlimited. Figures after the viewer settled below the top layer (from the change, if it never did); stalls are gaps of 500 ms or more in framesDecoded sampled every 500 ms, Chromium's count is its freezeCount (a frame late by 183 ms at 30 fps counts), freezes are pauses of over 500 ms between frames the player put on screen (requestVideoFrameCallback).`,
    '',
    table(phases, [
      ['link', 'downlink'],
      ['seconds', 's'],
      ['settle', 'settled below top after s'],
      ['heights', 'heights'],
      ['fps', 'fps'],
      ['kbps', 'kbit/s'],
      ['stalls', 'stalls'],
      ['chromium', "Chromium's count"],
      ['freezes', 'freezes > 500 ms'],
      ['drops', 'packets dropped'],
    ]),
    '',
    `Over the minute: ${onScreen}, ${freezes.stalls} stalls of 500 ms or more, ${freezes.chromium} freezes by Chromium's count. Unlimited viewer: ${heights(a.unlimited?.heights)} at ${num(a.unlimited?.fps)} fps, ${num(a.unlimited?.kbps, 0)} kbit/s, ${a.unlimited?.stalls ?? 0} stalls. Broadcaster keyframes: ${(a.keyframes ?? []).map((k) => `${k.height}p: ${k.count} (${num(k.perSecond, 2)}/s)`).join(', ')}.`,
    '',
    'The limited viewer, each second (s: height, frames/s, kbit/s):',
    '',
    table(
      (a.timeline ?? []).map((p) => ({
        t: num(p.t / 1000, 0),
        height: p.height,
        fps: num(p.fps),
        kbps: num(p.kbps, 0),
      })),
      [
        ['t', 's'],
        ['height', 'height'],
        ['fps', 'fps'],
        ['kbps', 'kbit/s'],
      ],
    ),
    '',
  ];
}

export function renderReport(
  results: Record<string, any>,
  source: string,
): { markdown: string; headline: string[] } {
  const m = results.machine;
  const server = results.server ?? {};
  const parts = [
    `# Benchmark results${results.label ? ` — ${results.label}` : ''} (${results.mode})`,
    '',
    `One run, from \`${source}\`: ${results.startedAt}${results.finishedAt ? ` to ${results.finishedAt}` : ''} on ${m.cores} cores (${m.model}), ${m.memoryGiB} GiB, Node ${results.node}. Server${server.commit ? ` at ${String(server.commit).slice(0, 12)}${server.dirty ? ' with uncommitted changes' : ''}` : ''}${server.mediaWorkers ? `, MEDIA_WORKERS=${server.mediaWorkers}` : ''}, in its own process on the embedded database; load generators run in other processes on the same machine, so their CPU is shown too.`,
    '',
  ];
  const headline: string[] = [];
  for (const [name, message] of Object.entries(
    (results.failures ?? {}) as Record<string, string>,
  )) {
    parts.push(`**Scenario ${name} failed** in this run: ${message}`, '');
    headline.push(`${name} FAILED`);
  }
  if (results.fanout) parts.push(...fanoutSection(results.fanout as FanoutResult, headline));
  if (results.simulcast)
    parts.push(
      ...simulcastSection(
        results.simulcast as FanoutResult,
        results.fanout as FanoutResult | undefined,
        headline,
      ),
    );
  if (results.firstFrame)
    parts.push(...firstFrameSection(results.firstFrame as FirstFrameResult, headline));
  if (results.churn) parts.push(...churnSection(results.churn as ChurnResult, headline));
  if (results.chat) parts.push(...chatSection(results.chat as ChatResult, headline));
  if (results.abuse) parts.push(...abuseSection(results.abuse as AbuseResult, headline));
  if (results.joins) parts.push(...joinsSection(results.joins as JoinsResult, headline));
  if (results.nodes) parts.push(...nodesSection(results.nodes as NodesResult, headline));
  if (results.adaptive)
    parts.push(...adaptiveSection(results.adaptive as AdaptiveResult, headline));
  if (results.recording)
    parts.push(...recordingSection(results.recording as RecordingBenchResult, headline));
  if (results.api) {
    parts.push(
      '## 5. API under concurrent load (50 concurrent clients)',
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

/** Draws median server CPU % (with min–max whiskers) and loss % against viewers, valid steps only. */
export async function renderChart(fanout: FanoutResult, file: string): Promise<void> {
  const rows = fanout.steps.filter((s) => s.valid);
  const width = 800;
  const height = 420;
  const pad = { left: 60, right: 60, top: 40, bottom: 50 };
  const maxN = Math.max(...fanout.steps.map((r) => r.viewers), 1);
  const maxCpu = Math.max(100, ...rows.map((r) => Math.ceil(r.summary.serverCpuPct.max / 50) * 50));
  const maxLoss = Math.max(1, ...rows.map((r) => r.summary.lossPct.median));
  const x = (n: number) => pad.left + (n / maxN) * (width - pad.left - pad.right);
  const yCpu = (c: number) =>
    height - pad.bottom - (Math.min(c, maxCpu) / maxCpu) * (height - pad.top - pad.bottom);
  const yLoss = (l: number) =>
    height - pad.bottom - (l / maxLoss) * (height - pad.top - pad.bottom);
  const line = (f: (r: FanoutStep) => [number, number]) =>
    rows.map((r) => f(r).join(',')).join(' ');
  const cpuTicks = Array.from({ length: maxCpu / 50 + 1 }, (_, i) => i * 50);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">
  <rect width="100%" height="100%" fill="white"/>
  <text x="${width / 2}" y="24" text-anchor="middle" font-size="16">SFU fan-out: server CPU (main + children) and loss against viewers</text>
  <line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="#333"/>
  <line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" stroke="#333"/>
  <line x1="${width - pad.right}" y1="${pad.top}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="#333"/>
  ${cpuTicks.map((c) => `<text x="${pad.left - 8}" y="${yCpu(c) + 4}" text-anchor="end" fill="#1d4ed8">${c}%</text><line x1="${pad.left}" x2="${width - pad.right}" y1="${yCpu(c)}" y2="${yCpu(c)}" stroke="#eee"/>`).join('')}
  ${[0, 0.5, 1].map((f) => `<text x="${width - pad.right + 8}" y="${yLoss(f * maxLoss) + 4}" fill="#dc2626">${(f * maxLoss).toFixed(2)}%</text>`).join('')}
  ${fanout.steps.map((r) => `<text x="${x(r.viewers)}" y="${height - pad.bottom + 18}" text-anchor="middle"${r.valid ? '' : ' fill="#999"'}>${r.viewers}${r.valid ? '' : ' (invalid)'}</text>`).join('')}
  <text x="${width / 2}" y="${height - 12}" text-anchor="middle">viewers</text>
  ${rows.map((r) => `<line x1="${x(r.viewers)}" x2="${x(r.viewers)}" y1="${yCpu(r.summary.serverCpuPct.min)}" y2="${yCpu(r.summary.serverCpuPct.max)}" stroke="#1d4ed8" stroke-width="6" stroke-opacity="0.35"/>`).join('')}
  <polyline fill="none" stroke="#1d4ed8" stroke-width="2.5" points="${line((r) => [x(r.viewers), yCpu(r.summary.serverCpuPct.median)])}"/>
  <polyline fill="none" stroke="#dc2626" stroke-width="2.5" stroke-dasharray="6 4" points="${line((r) => [x(r.viewers), yLoss(r.summary.lossPct.median)])}"/>
  <text x="${pad.left + 10}" y="${pad.top + 14}" fill="#1d4ed8">— server CPU %, median of ${fanout.repeats} windows (bar: min–max; one core = 100%)</text>
  <text x="${pad.left + 10}" y="${pad.top + 32}" fill="#dc2626">- - loss %, median (right axis)</text>
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
