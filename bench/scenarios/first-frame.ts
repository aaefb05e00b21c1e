import type { Page } from 'playwright-core';
import { launchChromium } from '../../e2e/support/chromium';
import { openRtcPage } from '../../e2e/support/rtc-page';
import { post, registerUser, registerUsers, type ServerProcess } from '../lib/server-process';
import { percentile, round } from '../lib/stats';
import { whepPageScript } from '../lib/whep-page';

export type FirstFramePath = 'whep-trickle' | 'whep-non-trickle' | 'socket';

export interface FirstFrameSeries {
  path: FirstFramePath;
  /** First decoded frame, ms after the POST of the offer (WHEP) or after the start (Socket.IO). */
  p50: number;
  p95: number;
  samples: number[];
  /** The same, from the moment the player started (includes the non-trickle client's gathering). */
  fromStartP50: number;
  fromStartP95: number;
  /** Non-trickle only: time spent waiting for ICE gathering before the POST. */
  gatheringP50?: number;
  failures: string[];
}

export interface FirstFrameResult {
  joins: number;
  series: FirstFrameSeries[];
}

const description: Record<FirstFramePath, string> = {
  'whep-trickle': 'WHEP, trickle ICE (offer posted at once, candidates PATCHed)',
  'whep-non-trickle': 'WHEP, non-trickle (offer posted after ICE gathering completed)',
  socket: 'Socket.IO signalling of the web app (server offers)',
};
export const firstFrameDescription = description;

async function waitFrame<T extends { error?: string | null | undefined }>(
  read: () => Promise<T>,
  done: (s: T) => boolean,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let state = await read();
  while (!done(state) && !state.error && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    state = await read();
  }
  return state;
}

/** One join on a fresh page; returns [from POST, from start, gathering] ms, or throws. */
async function join(
  page: Page,
  path: FirstFramePath,
  streamId: string,
  token: string,
): Promise<{ fromPost: number; fromStart: number; gathering: number }> {
  if (path === 'socket') {
    const index = await page.evaluate(
      ([id, t]) => (window as any).watchSocket(id, t),
      [streamId, token],
    );
    const s = await waitFrame(
      () =>
        page.evaluate((n) => (window as any).viewerStats(n), index) as Promise<{
          firstFrameMs: number;
          error?: undefined;
        }>,
      (st) => st.firstFrameMs >= 0,
    );
    if (s.firstFrameMs < 0) throw new Error('no frame within 10 s');
    return { fromPost: s.firstFrameMs, fromStart: s.firstFrameMs, gathering: -1 };
  }
  const index = await page.evaluate(
    ([id, t, trickle]) => (window as any).benchWatchWhep(id, t, trickle),
    [streamId, token, path === 'whep-trickle'] as const,
  );
  const s = await waitFrame(
    () =>
      page.evaluate((n) => (window as any).benchWhepState(n), index) as Promise<{
        fromPostMs: number;
        fromStartMs: number;
        gatheringMs: number;
        gatheringComplete: boolean | null;
        error: string | null;
      }>,
    (st) => st.fromPostMs >= 0,
  );
  if (s.error) throw new Error(s.error);
  if (s.fromPostMs < 0) throw new Error('no frame within 10 s');
  if (s.gatheringComplete === false) throw new Error('ICE gathering did not complete in 5 s');
  return { fromPost: s.fromPostMs, fromStart: s.fromStartMs, gathering: s.gatheringMs };
}

/**
 * A fake-camera Chromium publisher; Chromium viewers join one after another on fresh pages,
 * alternating trickle WHEP, non-trickle WHEP and Socket.IO signalling, each timed to its first
 * decoded frame.
 */
export async function runFirstFrame(
  server: ServerProcess,
  options: { joins: number; log: (line: string) => void },
): Promise<FirstFrameResult> {
  const host = await registerUser(server.url, `bench_ff_host_${Date.now().toString(36)}`);
  const stream = await post(
    `${server.url}/api/live/start`,
    { title: 'first-frame benchmark' },
    host.token,
  );
  // Loopback candidates, in the clear: a server on 127.0.0.1 must be reachable from Chromium's
  // own candidates, whichever ICE implementation the server uses.
  // The measuring pages are scripts injected into a page of the server's origin, which its Content
  // Security Policy rightly refuses: the benchmark's browser does not enforce it.
  const browser = await launchChromium({
    bypassCSP: true,
    extraArgs: [
      '--allow-loopback-in-peer-connection',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
    ],
  });
  const paths: FirstFramePath[] = ['whep-trickle', 'whep-non-trickle', 'socket'];
  // A user per join: a server may cap the watching sessions one user holds.
  const viewers = await registerUsers(server.url, 'ff', options.joins * paths.length);
  const samples = Object.fromEntries(
    paths.map((p) => [
      p,
      {
        fromPost: [] as number[],
        fromStart: [] as number[],
        gathering: [] as number[],
        failures: [] as string[],
      },
    ]),
  ) as Record<
    FirstFramePath,
    { fromPost: number[]; fromStart: number[]; gathering: number[]; failures: string[] }
  >;
  try {
    const publisher = await browser.context.newPage();
    await openRtcPage(publisher, server.url);
    await publisher.evaluate(
      ([id, t]) => (window as any).publishSocket(id, t),
      [stream.streamId, host.token],
    );
    await new Promise((r) => setTimeout(r, 2000));
    for (let i = 0; i < options.joins; i += 1) {
      for (const path of paths) {
        // A fresh page per join, closed afterwards, so earlier viewers do not load later ones.
        const page = await browser.context.newPage();
        try {
          await openRtcPage(page, server.url);
          await page.addScriptTag({ content: whepPageScript });
          const token = viewers[i * paths.length + paths.indexOf(path)]!.token;
          const r = await join(page, path, stream.streamId, token);
          samples[path].fromPost.push(Math.round(r.fromPost));
          samples[path].fromStart.push(Math.round(r.fromStart));
          if (r.gathering >= 0) samples[path].gathering.push(Math.round(r.gathering));
        } catch (error) {
          samples[path].failures.push(String(error));
        } finally {
          await page.evaluate(() => (window as any).benchWhepStop?.(0)).catch(() => undefined);
          await page.close();
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  } finally {
    await browser.close();
  }
  const series = paths.map((path): FirstFrameSeries => {
    const s = samples[path];
    const out: FirstFrameSeries = {
      path,
      p50: percentile(s.fromPost, 0.5),
      p95: percentile(s.fromPost, 0.95),
      samples: s.fromPost,
      fromStartP50: percentile(s.fromStart, 0.5),
      fromStartP95: percentile(s.fromStart, 0.95),
      failures: s.failures,
    };
    if (s.gathering.length) out.gatheringP50 = round(percentile(s.gathering, 0.5));
    options.log(
      `first frame, ${description[path]}: p50 ${out.p50} ms, p95 ${out.p95} ms${path === 'socket' ? ' (from start)' : ' from the POST'}; from start p50 ${out.fromStartP50} ms${out.gatheringP50 !== undefined ? `; gathering p50 ${out.gatheringP50} ms` : ''} (${s.fromPost.length} joins, ${s.failures.length} failed)`,
    );
    return out;
  });
  return { joins: options.joins, series };
}
