import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium, type BrowserSession } from '../../e2e/support/chromium';
import { FixturePublisher } from '../../server/test/support/loopback-peers';
import { cpuMeter } from '../lib/proc';
import { registerUsers, startServerProcess, type ServerProcess } from '../lib/server-process';
import { percentile, round, spread, type Spread } from '../lib/stats';

export interface RecordingCpuResult {
  streams: number;
  windows: number;
  windowSeconds: number;
  /** The server's processes together, share of one core, per window: without and with recording. */
  withoutRecording: Spread;
  withRecording: Spread;
  /** Recording and packaging (every layer, with live HLS) per stream: ms of CPU per second of media. */
  msPerStreamSecond: number;
  /** The load generator's own share of a core (it publishes the streams); over 0.9: invalid. */
  loadGeneratorShare: number;
  valid: boolean;
  /** Bytes on disk per hour of the fixture (VP8 720p at about 1.5 Mbit/s, with Opus). */
  bytesPerHour: number;
}

export interface HlsLatencyResult {
  /** Glass-to-glass: the publisher's canvas clock to the frame a player shows, in ms. */
  hls: { samples: number; p50: number; p95: number; windowsP50: Spread };
  webrtc: { samples: number; p50: number; p95: number };
  /** Disk per hour of the web app's 720p (H.264) as recorded here. */
  bytesPerHour: number;
  segmentSeconds: number;
}

export interface RecordingBenchResult {
  cpu?: RecordingCpuResult;
  latency?: HlsLatencyResult;
}

async function goLiveWithFixture(server: ServerProcess, token: string, record: boolean) {
  const res = await fetch(`${server.url}/api/live/start`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ title: 'bench', record }),
  });
  const started = (await res.json()) as { streamId: string; streamKey: string };
  const publisher = new FixturePublisher();
  const whip = await fetch(`${server.url}/api/live/${started.streamId}/whip`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: `Bearer ${started.streamKey}` },
    body: await publisher.offer(),
  });
  if (whip.status !== 201) throw new Error(`WHIP answered ${whip.status}`);
  await publisher.accept(await whip.text());
  publisher.start();
  return { streamId: started.streamId, publisher };
}

/**
 * CPU of recording: the same streams (the VP8 + Opus fixture, no viewers) on a server that
 * records and packages them, and on one started with `RECORDINGS_DIR=none`; the difference per
 * stream is what recording costs. Windows alternate within one run per configuration.
 */
async function measureCpu(options: {
  serverRoot: string;
  streams: number;
  windows: number;
  windowSeconds: number;
  log: (line: string) => void;
}): Promise<RecordingCpuResult> {
  const shares: Record<'none' | 'recorded', number[]> = { none: [], recorded: [] };
  let loadGenerator = 0;
  let bytesPerHour = 0;
  for (const mode of ['none', 'recorded'] as const) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'onair-bench-rec-'));
    const server = await startServerProcess({
      serverRoot: options.serverRoot,
      env: { MEDIA_WORKERS: '1', RECORDINGS_DIR: mode === 'none' ? 'none' : dir },
    });
    const publishers: FixturePublisher[] = [];
    try {
      const users = await registerUsers(server.url, `rec${mode}`, options.streams);
      const streams: string[] = [];
      for (const user of users) {
        const { streamId, publisher } = await goLiveWithFixture(server, user.token, true);
        publishers.push(publisher);
        streams.push(streamId);
      }
      // Warm up: every recorder has started its first segments.
      await new Promise((r) => setTimeout(r, 8000));
      for (let i = 0; i < options.windows; i += 1) {
        const own0 = process.cpuUsage();
        const t0 = performance.now();
        const meter = cpuMeter([server.pid]);
        await new Promise((r) => setTimeout(r, options.windowSeconds * 1000));
        const reading = meter();
        const own = process.cpuUsage(own0);
        loadGenerator = Math.max(
          loadGenerator,
          (own.user + own.system) / 1000 / (performance.now() - t0),
        );
        shares[mode].push(reading.share);
        options.log(
          `recording cpu: ${mode}, ${options.streams} streams, window ${i + 1}: ${(reading.share * 100).toFixed(1)}% of a core`,
        );
      }
      if (mode === 'recorded') {
        const first = streams[0]!;
        const details = (await (
          await fetch(`${server.url}/api/live/${first}`, {
            headers: { authorization: `Bearer ${users[0]!.token}` },
          })
        ).json()) as { recording: { durationSeconds: number; bytes: number } | null };
        const recording = details.recording;
        if (recording && recording.durationSeconds > 0)
          bytesPerHour = (recording.bytes / recording.durationSeconds) * 3600;
      }
    } finally {
      for (const p of publishers) await p.close().catch(() => undefined);
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }
  const without = spread(shares.none);
  const recorded = spread(shares.recorded);
  return {
    streams: options.streams,
    windows: options.windows,
    windowSeconds: options.windowSeconds,
    withoutRecording: without,
    withRecording: recorded,
    msPerStreamSecond: round(((recorded.median - without.median) * 1000) / options.streams, 2),
    loadGeneratorShare: round(loadGenerator, 3),
    valid: loadGenerator < 0.9,
    bytesPerHour: Math.round(bytesPerHour),
  };
}

/**
 * The publisher's camera replaced by a canvas that shows the time (Date.now(), in ms) as 30
 * black or white blocks along its top: a player's frame says when it was drawn.
 */
const clockCamera = () => {
  const canvas = document.createElement('canvas');
  canvas.width = 1280;
  canvas.height = 720;
  const g = canvas.getContext('2d')!;
  const draw = () => {
    const now = Date.now() % 2 ** 30;
    g.fillStyle = '#404040';
    g.fillRect(0, 0, 1280, 720);
    // Motion, so the encoder spends bits as it does on a camera.
    g.fillStyle = '#c08040';
    g.fillRect((now / 5) % 1200, 300, 80, 80);
    for (let bit = 0; bit < 30; bit += 1) {
      g.fillStyle = (now >> (29 - bit)) & 1 ? '#ffffff' : '#000000';
      g.fillRect(bit * 40 + 20, 20, 40, 40);
    }
    requestAnimationFrame(draw);
  };
  draw();
  const stream = canvas.captureStream(30);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const media = new MediaStream(stream.getVideoTracks().map((t) => t.clone()));
    if (constraints?.audio) {
      const ctx = new AudioContext();
      const tone = ctx.createOscillator();
      const out = ctx.createMediaStreamDestination();
      tone.connect(out);
      tone.start();
      for (const t of out.stream.getAudioTracks()) media.addTrack(t);
    }
    return media;
  };
};

/** Reads the clock from the frame `selector`'s video shows now: ms behind this page's clock. */
const readDelay = (page: Page, selector: string) =>
  page.evaluate((sel) => {
    const video = document.querySelector<HTMLVideoElement>(sel);
    if (!video || video.videoWidth === 0) return null;
    const w = video.videoWidth;
    const h = video.videoHeight;
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    const g = canvas.getContext('2d', { willReadFrequently: true })!;
    g.drawImage(video, 0, 0, w, h);
    const scale = w / 1280;
    let value = 0;
    for (let bit = 0; bit < 30; bit += 1) {
      const x = Math.round((bit * 40 + 40) * scale);
      const y = Math.round(40 * scale);
      const [r = 0, gg = 0, b = 0] = g.getImageData(x, y, 1, 1).data;
      const light = (r + gg + b) / 3;
      if (light > 80 && light < 176) return null; // not a clock block (a grey frame)
      value = value * 2 + (light >= 128 ? 1 : 0);
    }
    const now = Date.now() % 2 ** 30;
    const delay = (now - value + 2 ** 30) % 2 ** 30;
    return delay < 60_000 ? delay : null;
  }, selector);

/**
 * Glass-to-glass delay of live HLS (the web app's player with `?playback=hls`) and, beside it,
 * of WebRTC: a web-app broadcaster whose camera is a clock, two viewer pages reading the clock
 * off the frames they show, every 250 ms for `seconds`.
 */
async function measureLatency(options: {
  serverRoot: string;
  seconds: number;
  log: (line: string) => void;
}): Promise<HlsLatencyResult> {
  const webDir = path.join(options.serverRoot, 'web/dist');
  if (!existsSync(path.join(webDir, 'index.html')))
    throw new Error(`the web app is not built (${webDir}): run npm run build first`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'onair-bench-hls-'));
  const server = await startServerProcess({
    serverRoot: options.serverRoot,
    env: { WEB_DIR: webDir, RECORDINGS_DIR: dir },
  });
  const browsers: BrowserSession[] = [];
  const page = async (token: string, camera: boolean) => {
    const browser = await launchChromium();
    browsers.push(browser);
    await browser.context.addInitScript((t) => localStorage.setItem('onair.token', t), token);
    if (camera) {
      // The bench runs through tsx, which names functions with a helper the page lacks.
      await browser.context.addInitScript({ content: 'window.__name = (f) => f;' });
      await browser.context.addInitScript(clockCamera);
    }
    return browser.context.newPage();
  };
  try {
    const [host, hlsViewer, rtcViewer] = await registerUsers(server.url, 'latency', 3);
    const broadcaster = await page(host!.token, true);
    await broadcaster.goto(`${server.url}/`);
    await broadcaster.getByLabel('Title').first().fill('clock');
    await broadcaster.getByRole('button', { name: 'Go Live' }).click();
    await broadcaster.waitForURL(/\/live\/[0-9a-f-]{36}$/);
    const streamId = broadcaster.url().split('/').pop()!;
    const hls = await page(hlsViewer!.token, false);
    await hls.goto(`${server.url}/live/${streamId}?playback=hls`);
    const rtc = await page(rtcViewer!.token, false);
    await rtc.goto(`${server.url}/live/${streamId}`);
    // Warm up: both players running, the HLS one at its live edge.
    await new Promise((r) => setTimeout(r, 15_000));
    const samples = { hls: [] as number[], webrtc: [] as number[] };
    const windows: number[][] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < options.seconds * 1000) {
      const [a, b] = await Promise.all([
        readDelay(hls, '[data-testid="remote-video"]'),
        readDelay(rtc, '[data-testid="remote-video"]'),
      ]);
      const w = Math.floor((Date.now() - t0) / 10_000);
      if (a !== null) {
        samples.hls.push(a);
        (windows[w] ??= []).push(a);
      }
      if (b !== null) samples.webrtc.push(b);
      await new Promise((r) => setTimeout(r, 250));
    }
    const details = (await (
      await fetch(`${server.url}/api/live/${streamId}`, {
        headers: { authorization: `Bearer ${host!.token}` },
      })
    ).json()) as { recording: { durationSeconds: number; bytes: number } | null };
    const playlist = await (
      await fetch(`${server.url}/api/live/${streamId}/hls/index.m3u8`)
    ).text();
    const top = /^(r\d)\/index\.m3u8$/m.exec(playlist)?.[1] ?? 'r0';
    const media = await (
      await fetch(`${server.url}/api/live/${streamId}/hls/${top}/index.m3u8`)
    ).text();
    const durations = [...media.matchAll(/#EXTINF:([\d.]+)/g)].map((m) => Number(m[1]));
    options.log(
      `hls latency: p50 ${percentile(samples.hls, 0.5)} ms, p95 ${percentile(samples.hls, 0.95)} ms (${samples.hls.length} samples); webrtc p50 ${percentile(samples.webrtc, 0.5)} ms`,
    );
    const recording = details.recording;
    return {
      hls: {
        samples: samples.hls.length,
        p50: percentile(samples.hls, 0.5),
        p95: percentile(samples.hls, 0.95),
        windowsP50: spread(windows.filter(Boolean).map((w) => percentile(w, 0.5))),
      },
      webrtc: {
        samples: samples.webrtc.length,
        p50: percentile(samples.webrtc, 0.5),
        p95: percentile(samples.webrtc, 0.95),
      },
      // Every layer is on disk while live (the lower ones go when it ends): this is all of them.
      bytesPerHour:
        recording && recording.durationSeconds > 0
          ? Math.round((recording.bytes / recording.durationSeconds) * 3600)
          : 0,
      segmentSeconds: round(percentile(durations, 0.5), 2),
    };
  } finally {
    for (const b of browsers) await b.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Issue 20's costs: recording and packaging CPU per stream, and how far live HLS runs behind
 * the broadcaster (glass to glass), with WebRTC beside it.
 */
export async function runRecording(options: {
  serverRoot: string;
  quick: boolean;
  log: (line: string) => void;
}): Promise<RecordingBenchResult> {
  const cpu = await measureCpu({
    serverRoot: options.serverRoot,
    streams: options.quick ? 3 : 6,
    windows: 3,
    windowSeconds: options.quick ? 5 : 10,
    log: options.log,
  });
  const latency = await measureLatency({
    serverRoot: options.serverRoot,
    seconds: options.quick ? 15 : 40,
    log: options.log,
  });
  return { cpu, latency };
}
