import type { BrowserContext, Page } from 'playwright-core';

/**
 * What a page's WebRTC connections say about the video they receive or send, sampled over time
 * and summarised: height, frame rate, bitrate, freezes. Works on any page (the web app's or the
 * harness's): every RTCPeerConnection the page makes is recorded by an init script, the test's
 * own window onto the connections, nothing added to the product.
 */

/**
 * Records every RTCPeerConnection pages of `context` create; call before the pages load. Given as
 * text, and the page functions below define no functions of their own: a loader that keeps
 * function names (tsx, for the benchmarks) would otherwise call a helper the page lacks.
 */
export async function recordPeerConnections(context: BrowserContext): Promise<void> {
  await context.addInitScript({
    content: `(() => {
      if (window.onairPeerConnections) return;
      const seen = [];
      window.onairPeerConnections = seen;
      const Original = window.RTCPeerConnection;
      window.RTCPeerConnection = class extends Original {
        constructor(configuration) {
          super(configuration);
          seen.push(this);
        }
      };
    })();`,
  });
}

/** A pause between two frames a page put on screen: it ended `t` ms after the sampler's origin. */
export interface FrameGap {
  t: number;
  ms: number;
}

/** What a page showed: frames presented, and every pause between two of them over 200 ms. */
export interface PresentedFrames {
  presented: number;
  gaps: FrameGap[];
}

/**
 * Records, in every page of `context`, the pauses between frames its video elements present
 * (requestVideoFrameCallback): the freezes a person watching sees, to the frame, where the
 * decoder's counters sampled every half second only bound them. Call before the pages load.
 */
export async function recordPresentedFrames(context: BrowserContext): Promise<void> {
  await context.addInitScript({
    content: `(() => {
      if (window.onairPresented) return;
      const record = { presented: 0, gaps: [] };
      window.onairPresented = record;
      const watched = new WeakSet();
      setInterval(() => {
        for (const video of document.querySelectorAll('video')) {
          if (watched.has(video)) continue;
          watched.add(video);
          let last;
          const onFrame = (now) => {
            record.presented += 1;
            if (last !== undefined && now - last > 200) record.gaps.push({ at: now, ms: now - last });
            last = now;
            video.requestVideoFrameCallback(onFrame);
          };
          video.requestVideoFrameCallback(onFrame);
        }
      }, 250);
    })();`,
  });
}

/** What `recordPresentedFrames` saw on `page` so far, timed from `origin` (a `Date.now()`). */
export async function readPresentedFrames(page: Page, origin: number): Promise<PresentedFrames> {
  const seen = await page.evaluate(() => {
    const record = (
      window as unknown as {
        onairPresented?: { presented: number; gaps: { at: number; ms: number }[] };
      }
    ).onairPresented;
    return { presented: record?.presented ?? 0, gaps: record?.gaps ?? [], now: performance.now() };
  });
  const offset = Date.now() - origin - seen.now;
  return {
    presented: seen.presented,
    gaps: seen.gaps.map((gap) => ({ t: Math.round(gap.at + offset), ms: Math.round(gap.ms) })),
  };
}

/** The pauses over `minMs` (500 ms by default) that ended in (from, to]. */
export const freezesWithin = (gaps: FrameGap[], from: number, to: number, minMs = 500) =>
  gaps.filter((gap) => gap.ms > minMs && gap.t > from && gap.t <= to);

/** The counters of one inbound video stream (RTCInboundRtpStreamStats), as of `at`. */
export interface InboundVideo {
  /** Milliseconds since the page loaded (the stats' own clock is the page's). */
  at: number;
  framesDecoded: number;
  frameWidth: number;
  frameHeight: number;
  freezeCount: number;
  totalFreezesDuration: number;
  packetsLost: number;
  packetsReceived: number;
  bytesReceived: number;
  jitter: number;
  keyFramesDecoded: number;
}

/**
 * The page's inbound video: of its open connections, the stream that has decoded the most
 * frames (a page that reconnected keeps its closed connections in the record). Null before any.
 */
export const readInboundVideo = (page: Page): Promise<InboundVideo | null> =>
  page.evaluate(async () => {
    const pcs =
      (window as unknown as { onairPeerConnections?: RTCPeerConnection[] }).onairPeerConnections ??
      [];
    let best: InboundVideo | null = null;
    for (const pc of pcs) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((r: Record<string, unknown>) => {
        if (r.type !== 'inbound-rtp' || r.kind !== 'video') return;
        const sample = { at: performance.now() } as Record<string, number>;
        for (const key of [
          'framesDecoded',
          'frameWidth',
          'frameHeight',
          'freezeCount',
          'totalFreezesDuration',
          'packetsLost',
          'packetsReceived',
          'bytesReceived',
          'jitter',
          'keyFramesDecoded',
        ])
          sample[key] = typeof r[key] === 'number' ? r[key] : 0;
        if (!best || sample.framesDecoded! > best.framesDecoded)
          best = sample as unknown as InboundVideo;
      });
    }
    return best;
  });

/** One encoding a publisher sends (RTCOutboundRtpStreamStats); `rid` is empty without simulcast. */
export interface OutboundLayer {
  rid: string;
  /** The media section it is sent in: what tells layers apart when each has its own section. */
  mid: string;
  frameWidth: number;
  frameHeight: number;
  framesEncoded: number;
  keyFramesEncoded: number;
  bytesSent: number;
  /** Whether the encoding is sending (RTCOutboundRtpStreamStats.active). */
  active: boolean;
}

/** Every video encoding the page's open connections send, ordered by section, then rid. */
export const readOutboundLayers = (page: Page): Promise<OutboundLayer[]> =>
  page.evaluate(async () => {
    const pcs =
      (window as unknown as { onairPeerConnections?: RTCPeerConnection[] }).onairPeerConnections ??
      [];
    const layers: OutboundLayer[] = [];
    for (const pc of pcs) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((r: Record<string, unknown>) => {
        if (r.type !== 'outbound-rtp' || r.kind !== 'video') return;
        const layer = {
          rid: typeof r.rid === 'string' ? r.rid : '',
          mid: typeof r.mid === 'string' ? r.mid : '',
          active: r.active !== false,
        };
        for (const key of [
          'frameWidth',
          'frameHeight',
          'framesEncoded',
          'keyFramesEncoded',
          'bytesSent',
        ])
          (layer as Record<string, unknown>)[key] = typeof r[key] === 'number' ? r[key] : 0;
        layers.push(layer as OutboundLayer);
      });
    }
    return layers.sort((a, b) => a.mid.localeCompare(b.mid) || a.rid.localeCompare(b.rid));
  });

/** A sample, timed in ms from the sampler's origin. */
export interface TimedSample extends InboundVideo {
  t: number;
}

export interface Sampler {
  samples: TimedSample[];
  /** Stops sampling and returns every sample taken. */
  stop(): Promise<TimedSample[]>;
}

/**
 * Samples the page's inbound video every `everyMs` until stopped, each sample timed in ms from
 * `origin` (a `Date.now()`; default: now), so samplers of several pages share one clock. A sample
 * that fails (the page is busy navigating, say) is skipped, not fatal.
 */
export function sampleInboundVideo(page: Page, everyMs = 500, origin = Date.now()): Sampler {
  const samples: TimedSample[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const next = Date.now() + everyMs;
      const sample = await readInboundVideo(page).catch(() => null);
      if (sample) samples.push({ ...sample, t: Date.now() - origin });
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    }
  })();
  return {
    samples,
    async stop() {
      stopped = true;
      await loop;
      return samples;
    },
  };
}

/** One step of a timeline: the height shown, and the rates over the step before `t`. */
export interface TimelinePoint {
  t: number;
  height: number;
  fps: number;
  kbps: number;
}

/**
 * The samples as a timeline: with `stepMs`, the first sample at or after each multiple of it
 * (every second, say), else every sample; each point has the frame rate and bitrate since the
 * point before it.
 */
export function timeline(samples: TimedSample[], stepMs = 0): TimelinePoint[] {
  const points: TimelinePoint[] = [];
  let previous = samples[0];
  if (!previous) return points;
  let nextAt = stepMs > 0 ? (Math.floor(previous.t / stepMs) + 1) * stepMs : previous.t;
  for (const sample of samples.slice(1)) {
    if (sample.t < nextAt || sample.t <= previous.t) continue;
    const seconds = (sample.t - previous.t) / 1000;
    points.push({
      t: Math.round(sample.t),
      height: sample.frameHeight,
      fps: round((sample.framesDecoded - previous.framesDecoded) / seconds),
      kbps: round(((sample.bytesReceived - previous.bytesReceived) * 8) / 1000 / seconds),
    });
    previous = sample;
    nextAt = stepMs > 0 ? (Math.floor(sample.t / stepMs) + 1) * stepMs : sample.t;
  }
  return points;
}

const round = (x: number) => Math.round(x * 10) / 10;

/** The samples with `from <= t <= to`. */
const within = (samples: TimedSample[], from: number, to: number) =>
  samples.filter((s) => s.t >= from && s.t <= to);

/** Frames decoded per second between the first and last sample in [from, to]; NaN with fewer than two. */
export function framesPerSecond(samples: TimedSample[], from: number, to: number): number {
  const span = within(samples, from, to);
  const first = span[0];
  const last = span[span.length - 1];
  if (!first || !last || last.t <= first.t) return NaN;
  return (last.framesDecoded - first.framesDecoded) / ((last.t - first.t) / 1000);
}

/**
 * Stalls in [from, to]: runs of samples in which no frame was decoded, lasting at least
 * `minMs` (500 ms by default). A run's length is counted from the last sample that saw progress
 * to the last that saw none, so it is a lower bound (within one sampling step) of the freeze.
 */
export function stalls(
  samples: TimedSample[],
  from: number,
  to: number,
  minMs = 500,
): { start: number; ms: number }[] {
  const span = within(samples, from, to);
  const found: { start: number; ms: number }[] = [];
  let progressAt: number | undefined;
  let frames: number | undefined;
  let stalledUntil: number | undefined;
  const close = () => {
    if (
      progressAt !== undefined &&
      stalledUntil !== undefined &&
      stalledUntil - progressAt >= minMs
    )
      found.push({ start: progressAt, ms: stalledUntil - progressAt });
    stalledUntil = undefined;
  };
  for (const sample of span) {
    if (frames === undefined || sample.framesDecoded > frames) {
      close();
      progressAt = sample.t;
      frames = sample.framesDecoded;
    } else stalledUntil = sample.t;
  }
  close();
  return found;
}

/** Chromium's own count of freezes (its definition: a frame late by max(3 frames, 150 ms + 1)) in [from, to]. */
export function chromiumFreezes(samples: TimedSample[], from: number, to: number): number {
  const span = within(samples, from, to);
  const first = span[0];
  const last = span[span.length - 1];
  return first && last ? last.freezeCount - first.freezeCount : 0;
}

/**
 * Chromium's freezes over [from, to] that can have lasted more than 500 ms (the freeze):
 * at most as many as it counted, and no more than its total freeze time holds 500 ms spans.
 * (Chromium counts a frame late by 183 ms at 30 fps as a freeze.)
 */
export function longFreezes(samples: TimedSample[], from: number, to: number): number {
  const span = within(samples, from, to);
  const first = span[0];
  const last = span[span.length - 1];
  if (!first || !last) return 0;
  const count = last.freezeCount - first.freezeCount;
  const seconds = last.totalFreezesDuration - first.totalFreezesDuration;
  return Math.min(count, Math.floor(seconds / 0.5));
}

/**
 * Milliseconds after `from` until the height satisfies `ok` and goes on satisfying it in every
 * sample up to `to`, or undefined when it never does; the first sample at or after `from` with a
 * decoded frame counts as the start of observation. Settled on a lower layer, as issue 19 says:
 * a later move between acceptable heights (a second step down, or a probe that goes up to a
 * layer that fits and stays or comes back) does not unsettle it; whatever it costs the picture
 * is counted by the freezes and frame rate measured from the moment it settled.
 */
export function settleMs(
  samples: TimedSample[],
  from: number,
  to: number,
  ok: (height: number) => boolean,
): number | undefined {
  const span = within(samples, from, to);
  let settledAt: number | undefined;
  for (const sample of span) {
    if (!ok(sample.frameHeight)) settledAt = undefined;
    else settledAt ??= sample.t;
  }
  return settledAt === undefined ? undefined : settledAt - from;
}

/** What a viewer saw over [from, to]. */
export interface WindowSummary {
  from: number;
  to: number;
  /** The heights shown, each with its share of the samples. */
  heights: Record<number, number>;
  fps: number;
  kbps: number;
  chromiumFreezes: number;
  /** Chromium's freezes that can have lasted over 500 ms. */
  longFreezes: number;
  /** Stalls of at least 500 ms by framesDecoded. */
  stalls: number;
  longestStallMs: number;
  packetsLost: number;
}

export function summarise(samples: TimedSample[], from: number, to: number): WindowSummary {
  const span = within(samples, from, to);
  const first = span[0];
  const last = span[span.length - 1];
  const heights: Record<number, number> = {};
  for (const s of span) heights[s.frameHeight] = (heights[s.frameHeight] ?? 0) + 1;
  for (const h of Object.keys(heights))
    heights[Number(h)] = round(heights[Number(h)]! / span.length);
  const gaps = stalls(samples, from, to);
  const seconds = first && last ? (last.t - first.t) / 1000 : 0;
  return {
    from,
    to,
    heights,
    fps: round(framesPerSecond(samples, from, to)),
    kbps:
      first && last && seconds > 0
        ? round(((last.bytesReceived - first.bytesReceived) * 8) / 1000 / seconds)
        : NaN,
    chromiumFreezes: chromiumFreezes(samples, from, to),
    longFreezes: longFreezes(samples, from, to),
    stalls: gaps.length,
    longestStallMs: Math.round(Math.max(0, ...gaps.map((g) => g.ms))),
    packetsLost: first && last ? last.packetsLost - first.packetsLost : 0,
  };
}
