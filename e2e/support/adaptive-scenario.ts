import type { Page } from 'playwright-core';
import { signedInPage, type BrowserSession } from './chromium';
import type { LinkLimit, NetNs } from './netns';
import {
  freezesWithin,
  readInboundVideo,
  readPresentedFrames,
  recordPresentedFrames,
  readOutboundLayers,
  recordPeerConnections,
  sampleInboundVideo,
  settleMs,
  summarise,
  timeline,
  type FrameGap,
  type OutboundLayer,
  type TimedSample,
  type TimelinePoint,
  type WindowSummary,
} from './viewer-stats';

/**
 * Issue 19's scenario, shared by the browser suite and the benchmark: a web-app broadcaster on a
 * fake 1280x720 camera, and two web-app viewers of its stream, one in a network namespace whose
 * downlink is limited in phases, one on the host without limits. It measures; callers judge.
 */

export interface Phase {
  limit: LinkLimit;
  /** How long the phase lasts. */
  ms: number;
}

export interface PhaseResult extends Phase {
  /** When the phase began, in ms on the samplers' clock. */
  startT: number;
  delayApplied: boolean;
  /** Ms after the change until the limited viewer's height stayed below the top; none: never. */
  settleMs: number | undefined;
  /** The limited viewer from the moment it settled (or from the change, if it never did). */
  settled: WindowSummary;
  /** Its pauses of over 500 ms between frames on screen in that window. */
  freezes: FrameGap[];
  /** What the shaper did over the phase. */
  link: { sentPackets: number; queueDrops: number; lossDrops: number };
}

export interface AdaptiveRun {
  /** The publisher's highest encoded height (its top layer). */
  topHeight: number;
  phases: PhaseResult[];
  limited: {
    samples: TimedSample[];
    timeline: TimelinePoint[];
    /** Frames its player presented over the phases, and its pauses of over 200 ms. */
    presented: number;
    gaps: FrameGap[];
  };
  unlimited: { samples: TimedSample[]; timeline: TimelinePoint[]; summary: WindowSummary };
  /** Per encoding (its section and rid): keyframes over the run and per second. */
  keyframes: { mid: string; rid: string; height: number; count: number; perSecond: number }[];
  /** Whole seconds of the run. */
  seconds: number;
}

export interface AdaptiveOptions {
  /** The server's origin as the host reaches it, e.g. http://localhost:1234. */
  hostUrl: string;
  /** The server's origin as the namespace reaches it: the host veth address. */
  nsUrl: string;
  netns: NetNs;
  /** Tokens: the broadcaster, then the two viewers. */
  tokens: { host: string; limited: string; unlimited: string };
  phases: Phase[];
  /** Browsers started are pushed here for the caller to close (also on failure). */
  browsers: BrowserSession[];
  log?: (line: string) => void;
  /** The broadcaster's video codec where not the web app's own choice (H.264 where it encodes it). */
  broadcasterCodec?: 'vp8';
}

/**
 * Leaves H.264 out of the page's video codecs, so the web app's broadcaster offers VP8 only (the
 * server takes H.264 from any offer that carries it). A string: the page runs it as written.
 */
const withoutH264 = `(() => {
  const isH264 = (codec) => codec.mimeType.toLowerCase() === 'video/h264';
  const capabilities = RTCRtpSender.getCapabilities.bind(RTCRtpSender);
  RTCRtpSender.getCapabilities = (kind) => {
    const found = capabilities(kind);
    if (found && kind === 'video') found.codecs = found.codecs.filter((c) => !isH264(c));
    return found;
  };
  const addTransceiver = RTCPeerConnection.prototype.addTransceiver;
  RTCPeerConnection.prototype.addTransceiver = function (...args) {
    const transceiver = addTransceiver.apply(this, args);
    if (transceiver.receiver.track.kind === 'video')
      transceiver.setCodecPreferences(RTCRtpSender.getCapabilities('video').codecs);
    return transceiver;
  };
})();`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `ok`, or throws `what` after `ms`. */
async function until(what: string, ok: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(250);
  }
}

/** Goes live from the web app's home page; resolves with the stream's id. */
async function goLive(page: Page, baseUrl: string): Promise<string> {
  await page.goto(`${baseUrl}/`);
  await page.getByLabel('Title').first().fill('Adaptive quality');
  await page.getByRole('button', { name: 'Go Live' }).click();
  await page.waitForURL(/\/live\/[0-9a-f-]{36}$/, { timeout: 15_000 });
  await until(
    'the broadcast to be live',
    async () => (await page.getByTestId('broadcast-status').textContent()) === 'LIVE',
    15_000,
  );
  return page.url().split('/').pop()!;
}

const topOf = (layers: OutboundLayer[]) => Math.max(0, ...layers.map((l) => l.frameHeight));

export async function runAdaptiveScenario(options: AdaptiveOptions): Promise<AdaptiveRun> {
  const log = options.log ?? (() => undefined);
  const { netns, browsers } = options;

  // The fake camera runs at 20 frames a second unless told otherwise; a real one at 30, and the
  // viewers' 20-a-second floor is only meaningful below what the camera gives.
  const publisher = await signedInPage(browsers, options.tokens.host, {
    extraArgs: ['--use-fake-device-for-media-stream=fps=30'],
  });
  await recordPeerConnections(publisher.context());
  if (options.broadcasterCodec === 'vp8') await publisher.context().addInitScript(withoutH264);
  const streamId = await goLive(publisher, options.hostUrl);
  // The encoder starts low and climbs; the top layer is what it reaches on the loopback.
  await until(
    'the broadcaster to send 720p',
    async () => topOf(await readOutboundLayers(publisher)) >= 720,
    15_000,
  ).catch(() => undefined);
  const topHeight = topOf(await readOutboundLayers(publisher));
  log(`broadcaster: ${JSON.stringify(await readOutboundLayers(publisher))}`);

  const nsBrowser = await netns.launchChromium();
  browsers.push(nsBrowser);
  await recordPeerConnections(nsBrowser.context);
  await recordPresentedFrames(nsBrowser.context);
  await nsBrowser.context.addInitScript((stored) => {
    if (!localStorage.getItem('onair.token')) localStorage.setItem('onair.token', stored);
  }, options.tokens.limited);
  const limited = await nsBrowser.context.newPage();

  const unlimited = await signedInPage(browsers, options.tokens.unlimited);
  await recordPeerConnections(unlimited.context());

  await limited.goto(`${options.nsUrl}/live/${streamId}`);
  await unlimited.goto(`${options.hostUrl}/live/${streamId}`);
  for (const [name, page] of [
    ['limited', limited],
    ['unlimited', unlimited],
  ] as const) {
    await until(
      `the ${name} viewer's first frames`,
      async () => ((await readInboundVideo(page))?.framesDecoded ?? 0) > 10,
      20_000,
    );
  }

  const origin = Date.now();
  const presentedBefore = await readPresentedFrames(limited, origin);
  const limitedSampler = sampleInboundVideo(limited, 500, origin);
  const unlimitedSampler = sampleInboundVideo(unlimited, 500, origin);
  const keyframesBefore = await readOutboundLayers(publisher);
  const phases: {
    phase: Phase;
    startT: number;
    delayApplied: boolean;
    link: PhaseResult['link'];
  }[] = [];
  try {
    for (const phase of options.phases) {
      const startT = Date.now() - origin;
      const { delayApplied } = await netns.limit(phase.limit);
      log(
        `t=${(startT / 1000).toFixed(1)} s: downlink ${phase.limit.rateKbit} kbit/s, ${phase.limit.delayMs ?? 0} ms${delayApplied ? '' : ' (not applied: neither netem nor python3 here)'}, ${phase.limit.lossPercent ?? 0}% loss, for ${phase.ms / 1000} s`,
      );
      await sleep(phase.ms);
      phases.push({ phase, startT, delayApplied, link: await netns.counters() });
    }
  } finally {
    await limitedSampler.stop();
    await unlimitedSampler.stop();
    await netns.unlimit();
  }
  const endT = Date.now() - origin;
  const presentedAfter = await readPresentedFrames(limited, origin);
  const gaps = presentedAfter.gaps.filter((gap) => gap.t > 0);
  const keyframesAfter = await readOutboundLayers(publisher);
  const seconds = endT / 1000;

  const samples = limitedSampler.samples;
  const results = phases.map(({ phase, startT, delayApplied, link }, i): PhaseResult => {
    const endOfPhase = phases[i + 1]?.startT ?? endT;
    const settle = settleMs(samples, startT, endOfPhase, (h) => h > 0 && h < topHeight);
    return {
      ...phase,
      startT,
      delayApplied,
      settleMs: settle,
      settled: summarise(samples, startT + (settle ?? 0), endOfPhase),
      freezes: freezesWithin(gaps, startT + (settle ?? 0), endOfPhase),
      link,
    };
  });
  const keyframes = keyframesAfter.map((after) => {
    const before = keyframesBefore.find((l) => l.mid === after.mid && l.rid === after.rid);
    const count = after.keyFramesEncoded - (before?.keyFramesEncoded ?? 0);
    return {
      mid: after.mid,
      rid: after.rid,
      height: after.frameHeight,
      count,
      perSecond: Math.round((count / seconds) * 100) / 100,
    };
  });
  return {
    topHeight,
    phases: results,
    limited: {
      samples,
      timeline: timeline(samples, 1000),
      presented: presentedAfter.presented - presentedBefore.presented,
      gaps,
    },
    unlimited: {
      samples: unlimitedSampler.samples,
      timeline: timeline(unlimitedSampler.samples, 1000),
      summary: summarise(unlimitedSampler.samples, 0, endT),
    },
    keyframes,
    seconds: Math.round(seconds),
  };
}

/** The run as lines for a log: phases, the limited viewer's timeline, the unlimited one, keyframes. */
export function describeRun(run: AdaptiveRun): string[] {
  const lines = [`top layer ${run.topHeight}p; ${run.seconds} s`];
  for (const p of run.phases)
    lines.push(
      `${p.limit.rateKbit} kbit/s from t=${(p.startT / 1000).toFixed(1)} s: settled below ${run.topHeight}p ${p.settleMs === undefined ? 'never' : `after ${(p.settleMs / 1000).toFixed(1)} s`}; then ${JSON.stringify(p.settled)}; link ${JSON.stringify(p.link)}`,
    );
  lines.push('limited viewer, each second (t s: height, fps, kbit/s):');
  const perSecond = (points: TimelinePoint[]) =>
    points.map((p) => `${(p.t / 1000).toFixed(0)}: ${p.height}p ${p.fps} ${p.kbps}`).join(' | ');
  lines.push(perSecond(run.limited.timeline));
  lines.push(
    `limited viewer's player: ${run.limited.presented} frames on screen; pauses over 200 ms (end t, ms): ${JSON.stringify(run.limited.gaps)}`,
  );
  lines.push(`unlimited viewer: ${JSON.stringify(run.unlimited.summary)}`);
  // Its timeline only when it left the top: when it did, and what it received then, says why.
  if (Object.keys(run.unlimited.summary.heights).length > 1)
    lines.push(`unlimited viewer, each second: ${perSecond(run.unlimited.timeline)}`);
  lines.push(`publisher keyframes: ${JSON.stringify(run.keyframes)}`);
  return lines;
}
