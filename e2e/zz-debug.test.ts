import { it } from 'vitest';
import { api, registerUser, startTestServer } from '../server/test/support/server';
import { launchChromium } from './support/chromium';
import { openRtcPage } from './support/rtc-page';
it('debug', async () => {
  const server = await startTestServer({ env: { MEDIA_WORKERS: process.env.MW ?? '2' } });
  const host = await registerUser(server);
  const viewer = await registerUser(server);
  const browser = await launchChromium({ bypassCSP: true });
  const started = await api(server.url)('POST', '/api/live/start', {
    token: host.token,
    body: { title: 's' },
  });
  const streamId = started.body.streamId as string;
  const publisher = await browser.context.newPage();
  await openRtcPage(publisher, server.url);
  await publisher.evaluate(
    ([id, key, sim]) => (window as any).publishWhip(id, key, sim === '1'),
    [streamId, started.body.streamKey as string, process.env.SIM ?? '1'],
  );
  const viewers = await browser.context.newPage();
  await openRtcPage(viewers, server.url);
  const i = await viewers.evaluate(
    ([id, t]) => (window as any).watchWhep(id, t, 'low'),
    [streamId, viewer.token],
  );
  for (let k = 0; k < 6; k++) {
    await new Promise((r) => setTimeout(r, 2000));
    console.log(JSON.stringify(await publisher.evaluate(() => (window as any).publisherLayers())));
    console.log(JSON.stringify(await viewers.evaluate((n) => (window as any).viewerStats(n), i)));
  }
  console.log(
    (await (await fetch(`${server.url}/metrics`)).text())
      .split('\n')
      .filter((l) => l.startsWith('onair_media'))
      .join('\n'),
  );
  console.log(await publisher.evaluate(() => (window as any).publisher.remoteDescription.sdp));
  await browser.close();
  await server.stop();
}, 60000);
