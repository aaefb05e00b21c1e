import { existsSync } from 'node:fs';
import path from 'node:path';
import { describeRun, runAdaptiveScenario } from '../../e2e/support/adaptive-scenario';
import type { BrowserSession } from '../../e2e/support/chromium';
import { createNetNs, netnsUnavailable } from '../../e2e/support/netns';
import {
  chromiumFreezes,
  freezesWithin,
  stalls,
  type TimelinePoint,
} from '../../e2e/support/viewer-stats';
import { registerUsers, startServerProcess } from '../lib/server-process';

/** One limit the viewer's downlink had, and how the viewer fared under it. */
export interface AdaptivePhase {
  rateKbit: number;
  delayMs: number;
  /** False where neither netem nor python3 is there: the delay was asked for, not applied. */
  delayApplied: boolean;
  lossPercent: number;
  seconds: number;
  /** Seconds after the change until the height stayed below the top; null: never. */
  settleSeconds: number | null;
  /** Once settled (or from the change, if never): */
  heights: Record<number, number>;
  fps: number;
  kbps: number;
  stalls: number;
  chromiumFreezes: number;
  /** Pauses of over 500 ms between frames the player put on screen. */
  freezes: number;
  /** Packets the shaper delivered, dropped from its full queue, and dropped at random. */
  link: { sentPackets: number; queueDrops: number; lossDrops: number };
}

export interface AdaptiveResult {
  /** Why the scenario did not run (no root, no iproute2); the rest is then absent. */
  skipped?: string;
  topHeight?: number;
  phases?: AdaptivePhase[];
  /** The limited viewer, each second: height, frames decoded per second, kbit/s received. */
  timeline?: TimelinePoint[];
  /**
   * Over the whole minute: stalls of 500 ms or more (framesDecoded), Chromium's freezeCount, and
   * pauses of over 500 ms between frames on screen with the longest pause of all.
   */
  freezes?: { stalls: number; chromium: number; onScreen?: number; longestPauseMs?: number };
  unlimited?: { heights: Record<number, number>; fps: number; kbps: number; stalls: number };
  keyframes?: { mid: string; rid: string; height: number; count: number; perSecond: number }[];
}

/**
 * Issue 19's limited viewer, for a minute: a web-app broadcaster (fake 1280x720 camera), one
 * viewer in a network namespace whose downlink is 600 kbit/s then 300 kbit/s (50 ms, 1% loss),
 * one unlimited viewer. Its own server process listens on every address and announces its media
 * on the host's end of the namespace's link.
 */
export async function runAdaptive(options: {
  serverRoot: string;
  log: (line: string) => void;
}): Promise<AdaptiveResult> {
  const unavailable = await netnsUnavailable();
  if (unavailable) {
    options.log(`adaptive: skipped, ${unavailable}`);
    return { skipped: unavailable };
  }
  const webDir = path.join(options.serverRoot, 'web/dist');
  if (!existsSync(path.join(webDir, 'index.html')))
    throw new Error(`the web app is not built (${webDir}): run npm run build first`);

  const netns = await createNetNs();
  const browsers: BrowserSession[] = [];
  try {
    const server = await startServerProcess({
      serverRoot: options.serverRoot,
      env: { HOST: '0.0.0.0', ANNOUNCED_IP: netns.hostAddress, WEB_DIR: webDir },
    });
    try {
      const [host, limited, unlimited] = await registerUsers(server.url, 'adaptive', 3);
      const port = new URL(server.url).port;
      const run = await runAdaptiveScenario({
        hostUrl: server.url,
        nsUrl: `http://${netns.hostAddress}:${port}`,
        netns,
        tokens: { host: host!.token, limited: limited!.token, unlimited: unlimited!.token },
        phases: [
          { limit: { rateKbit: 600, delayMs: 50, lossPercent: 1 }, ms: 30_000 },
          { limit: { rateKbit: 300, delayMs: 50, lossPercent: 1 }, ms: 30_000 },
        ],
        browsers,
        log: (line) => options.log(`adaptive: ${line}`),
      });
      for (const line of describeRun(run)) options.log(`adaptive: ${line}`);
      const samples = run.limited.samples;
      const end = samples[samples.length - 1]?.t ?? 0;
      const from = run.phases[0]?.startT ?? 0;
      return {
        topHeight: run.topHeight,
        phases: run.phases.map((p) => ({
          rateKbit: p.limit.rateKbit,
          delayMs: p.limit.delayMs ?? 0,
          delayApplied: p.delayApplied,
          lossPercent: p.limit.lossPercent ?? 0,
          seconds: p.ms / 1000,
          settleSeconds: p.settleMs === undefined ? null : Math.round(p.settleMs / 100) / 10,
          heights: p.settled.heights,
          fps: p.settled.fps,
          kbps: p.settled.kbps,
          stalls: p.settled.stalls,
          chromiumFreezes: p.settled.chromiumFreezes,
          freezes: p.freezes.length,
          link: p.link,
        })),
        timeline: run.limited.timeline.filter((p) => p.t >= from),
        freezes: {
          stalls: stalls(samples, from, end).length,
          chromium: chromiumFreezes(samples, from, end),
          onScreen: freezesWithin(run.limited.gaps, from, end).length,
          longestPauseMs: Math.max(
            0,
            ...run.limited.gaps.filter((g) => g.t > from && g.t <= end).map((g) => g.ms),
          ),
        },
        unlimited: {
          heights: run.unlimited.summary.heights,
          fps: run.unlimited.summary.fps,
          kbps: run.unlimited.summary.kbps,
          stalls: run.unlimited.summary.stalls,
        },
        keyframes: run.keyframes,
      };
    } finally {
      for (const browser of browsers) await browser.close();
      await server.stop();
    }
  } finally {
    await netns.destroy();
  }
}
