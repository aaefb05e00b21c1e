import { percentile } from '../lib/stats';
import { launchChromium } from '../../e2e/support/chromium';
import { openRtcPage } from '../../e2e/support/rtc-page';
import { post, registerUser, type ServerProcess } from '../lib/server-process';

export interface FirstFrameResult {
  joins: number;
  whep: { p50: number; p95: number; samples: number[] };
  socket: { p50: number; p95: number; samples: number[] };
}

/** A fake-camera Chromium publisher; Chromium viewers join one after another, timed to their first decoded frame. */
export async function runFirstFrame(
  server: ServerProcess,
  options: { joins: number; log: (line: string) => void },
): Promise<FirstFrameResult> {
  const host = await registerUser(server.url, `bench_ff_host_${Date.now().toString(36)}`);
  const viewer = await registerUser(server.url, `bench_ff_view_${Date.now().toString(36)}`);
  const stream = await post(
    `${server.url}/api/live/start`,
    { title: 'first-frame benchmark' },
    host.token,
  );
  const browser = await launchChromium();
  try {
    const publisher = await browser.context.newPage();
    await openRtcPage(publisher, server.url);
    await publisher.evaluate(
      ([id, t]) => (window as any).publishSocket(id, t),
      [stream.streamId, host.token],
    );
    await new Promise((r) => setTimeout(r, 2000));
    const samples = { whep: [] as number[], socket: [] as number[] };
    for (let i = 0; i < options.joins; i += 1) {
      // A fresh page per join, closed afterwards, so earlier viewers do not load later ones.
      const page = await browser.context.newPage();
      await openRtcPage(page, server.url);
      const method = i % 2 === 0 ? 'watchWhep' : 'watchSocket';
      const index = await page.evaluate(
        ([m, id, t]) => (window as any)[m as string](id, t),
        [method, stream.streamId, viewer.token],
      );
      const deadline = Date.now() + 10_000;
      let firstFrameMs = -1;
      while (firstFrameMs < 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        firstFrameMs = (await page.evaluate((n) => (window as any).viewerStats(n), index))
          .firstFrameMs;
      }
      (method === 'watchWhep' ? samples.whep : samples.socket).push(Math.round(firstFrameMs));
      await page.close();
      await new Promise((r) => setTimeout(r, 300));
    }
    const result: FirstFrameResult = {
      joins: options.joins,
      whep: {
        p50: percentile(samples.whep, 0.5),
        p95: percentile(samples.whep, 0.95),
        samples: samples.whep,
      },
      socket: {
        p50: percentile(samples.socket, 0.5),
        p95: percentile(samples.socket, 0.95),
        samples: samples.socket,
      },
    };
    options.log(
      `first frame: WHEP p50 ${result.whep.p50} ms p95 ${result.whep.p95} ms; socket signalling p50 ${result.socket.p50} ms p95 ${result.socket.p95} ms (${options.joins} joins)`,
    );
    return result;
  } finally {
    await browser.close();
  }
}
