import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  registerUser,
  sleep,
  startTestServer,
  uniqueName,
  type TestServer,
  type TestUser,
} from '../server/test/support/server';
import { launchChromium, type BrowserSession } from './support/chromium';
import { openRtcPage } from './support/rtc-page';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Probe {
  getUserMediaCalls: number;
  capturedTracks: MediaStreamTrack[];
  peerConnections: number;
  localDescriptions: number;
  connections: RTCPeerConnection[];
}

/**
 * The test's window onto the devices and connections, set before the app loads: every
 * getUserMedia call and the tracks it gave, every RTCPeerConnection made, and every local
 * description set (a renegotiation sets one). Nothing is added to the product.
 */
const probe = () => {
  const w = window as unknown as { probe: Probe };
  w.probe = {
    getUserMediaCalls: 0,
    capturedTracks: [],
    peerConnections: 0,
    localDescriptions: 0,
    connections: [],
  };
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    w.probe.getUserMediaCalls += 1;
    const media = await original(constraints);
    w.probe.capturedTracks.push(...media.getTracks());
    return media;
  };
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(configuration?: RTCConfiguration) {
      super(configuration);
      w.probe.peerConnections += 1;
      w.probe.connections.push(this);
    }
  };
  const setLocal = Native.prototype.setLocalDescription;
  Native.prototype.setLocalDescription = function (
    this: RTCPeerConnection,
    ...args: Parameters<RTCPeerConnection['setLocalDescription']>
  ) {
    w.probe.localDescriptions += 1;
    return setLocal.apply(this, args);
  } as RTCPeerConnection['setLocalDescription'];
};

const probed = (page: Page) =>
  page.evaluate(() => {
    const p = (window as unknown as { probe: Probe }).probe;
    return {
      getUserMediaCalls: p.getUserMediaCalls,
      peerConnections: p.peerConnections,
      localDescriptions: p.localDescriptions,
      tracks: p.capturedTracks.map((t) => ({ kind: t.kind, state: t.readyState })),
      // What each video section of the latest connection sends: one per simulcast layer.
      videoSenders: (p.connections.at(-1)?.getTransceivers() ?? [])
        .filter((t) => t.receiver.track.kind === 'video')
        .map((t) => t.sender.track?.readyState ?? 'none'),
    };
  });

/** Frames the app's <video> of the stream has shown. */
const framesShown = (page: Page) =>
  page.evaluate(
    () =>
      document
        .querySelector<HTMLVideoElement>('[data-testid="remote-video"]')
        ?.getVideoPlaybackQuality().totalVideoFrames ?? 0,
  );

describe('the host view on every device, and the camera turned off for real', () => {
  let server: TestServer;
  const browsers: BrowserSession[] = [];

  beforeAll(async () => {
    server = await startTestServer({ env: { WEB_DIR: path.join(root, 'web/dist') } });
  });
  afterAll(async () => {
    for (const b of browsers) await b.close();
    await server?.stop();
  });

  /** A signed-in person on a device of their own, probed. */
  const person = async (user: TestUser, viewport?: { width: number; height: number }) => {
    const browser = await launchChromium({ viewport });
    browsers.push(browser);
    await browser.context.addInitScript((token) => {
      localStorage.setItem('onair.token', token);
    }, user.token);
    await browser.context.addInitScript(probe);
    return browser.context.newPage();
  };

  const goLive = async (page: Page, title: string) => {
    await page.goto(`${server.url}/`);
    await page.getByLabel('Title').first().fill(title);
    await page.getByRole('button', { name: 'Go Live' }).click();
    await page.waitForURL(/\/live\/[0-9a-f-]{36}$/);
    await expect
      .poll(() => page.getByTestId('broadcast-status').textContent(), { timeout: 15_000 })
      .toBe('LIVE');
    return page.url().split('/').pop() as string;
  };

  it('gives an OBS streamer the host view of their stream, with no camera, and lists who joins', async () => {
    const host = await registerUser(server, uniqueName('obshost'));
    const viewer = await registerUser(server, uniqueName('obsfan'));
    const key = await api(server.url)('GET', '/api/me/stream-key', { token: host.token });
    expect(key.status).toBe(200);

    // OBS's part, played by a Chromium page: WHIP with the persistent key starts the stream.
    const obsBrowser = await launchChromium({ bypassCSP: true });
    browsers.push(obsBrowser);
    const obs = await obsBrowser.context.newPage();
    await openRtcPage(obs, server.url);
    const location = await obs.evaluate(
      (bearer) =>
        (
          window as unknown as { publishWhipTo: (u: string, b: string) => Promise<string> }
        ).publishWhipTo('/api/live/whip', bearer),
      key.body.streamKey as string,
    );
    const streamId = /[0-9a-f-]{36}/.exec(location)?.[0] ?? '';
    expect(streamId).not.toBe('');

    const manager = await person(host);
    await manager.goto(`${server.url}/live/${streamId}`);
    await expect.poll(() => manager.getByTestId('host-view').count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => framesShown(manager), { timeout: 15_000 }).toBeGreaterThan(5);
    expect(await manager.getByTestId('broadcast-status').textContent()).toBe('LIVE');
    expect(await manager.getByLabel('Message', { exact: true }).isEnabled()).toBe(true);
    expect(await manager.getByRole('button', { name: 'End stream' }).count()).toBe(1);
    // Moderation is there too (the host's tab beside the chat).
    expect(await manager.getByRole('tab', { name: /Moderation/ }).count()).toBe(1);
    await expect
      .poll(() => manager.getByLabel('Stream health as received').textContent(), {
        timeout: 10_000,
      })
      .toMatch(/[1-9]\d* kbit\/s.*[1-9]\d* fps/);

    // A signed-in viewer joins: the host sees them listed and a "joined" line; the viewer sees
    // the count only.
    const watcher = await person(viewer);
    await watcher.goto(`${server.url}/live/${streamId}`);
    const list = manager.getByTestId('viewer-list');
    await expect
      .poll(() => list.getByTestId('viewer-name').allTextContents(), { timeout: 10_000 })
      .toEqual([viewer.user.display_name]);
    await expect
      .poll(() => manager.getByTestId('join-notices').textContent(), { timeout: 5000 })
      .toContain(`${viewer.user.display_name} joined`);
    expect(
      await list.getByRole('button', { name: `Moderate ${viewer.user.display_name}` }).count(),
    ).toBe(1);
    await expect.poll(() => manager.getByTestId('viewer-count').textContent()).toBe('1');
    expect(await watcher.getByTestId('viewer-list').count()).toBe(0);
    expect(await watcher.getByTestId('viewer-count').textContent()).toBe('1');

    // The "joined" lines can be turned off, and stay off on this device.
    await manager.getByRole('button', { name: 'Show who joins in chat' }).click();
    expect(await manager.getByTestId('join-notices').textContent()).not.toContain('joined');
    expect(await manager.evaluate(() => localStorage.getItem('onair.joinNotices'))).toBe('false');

    // The camera was never touched on the host's page.
    expect((await probed(manager)).getUserMediaCalls).toBe(0);

    await manager.getByRole('button', { name: 'End stream' }).click();
    await manager.getByRole('dialog').getByRole('button', { name: 'End stream' }).click();
    await expect
      .poll(() => manager.getByTestId('end-summary').isVisible(), { timeout: 10_000 })
      .toBe(true);
    await expect
      .poll(() => watcher.getByTestId('stream-ended').isVisible(), { timeout: 10_000 })
      .toBe(true);
    const details = await api(server.url)('GET', `/api/live/${streamId}`);
    expect(details.body.status).toBe('ended');
    expect((await probed(manager)).getUserMediaCalls).toBe(0);
  }, 120_000);

  it('gives a second device of a browser-publishing host the managing view, leaving the publisher alone', async () => {
    const host = await registerUser(server, uniqueName('twodev'));
    const publisher = await person(host);
    const streamId = await goLive(publisher, 'Two devices');
    const before = await probed(publisher);
    expect(before.getUserMediaCalls).toBeGreaterThan(0);

    const second = await person(host, { width: 390, height: 844 });
    await second.goto(`${server.url}/live/${streamId}`);
    await expect.poll(() => second.getByTestId('host-view').count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => framesShown(second), { timeout: 15_000 }).toBeGreaterThan(5);
    expect(await second.getByRole('button', { name: 'Turn camera off' }).count()).toBe(0);
    expect((await probed(second)).getUserMediaCalls).toBe(0);

    // The publishing device carries on as it was: still live, same connection, camera open.
    await sleep(3000);
    expect(await publisher.getByTestId('broadcast-status').textContent()).toBe('LIVE');
    const after = await probed(publisher);
    expect(after.peerConnections).toBe(before.peerConnections);
    expect(after.tracks.every((t) => t.state === 'live')).toBe(true);
    // A reload of the publishing tab keeps it the publisher.
    await publisher.reload();
    await expect
      .poll(() => publisher.getByRole('button', { name: 'Turn camera off' }).count(), {
        timeout: 10_000,
      })
      .toBe(1);
    await expect
      .poll(() => publisher.getByTestId('broadcast-status').textContent(), { timeout: 20_000 })
      .toBe('LIVE');
    expect(await second.getByTestId('host-view').count()).toBe(1);
  }, 120_000);

  it('lets a host whose stream has no publisher broadcast from the device that manages it', async () => {
    const host = await registerUser(server, uniqueName('nopub'));
    const started = await api(server.url)('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'Started, not sent' },
    });
    const streamId = started.body.streamId as string;
    const page = await person(host);
    await page.goto(`${server.url}/live/${streamId}`);
    await expect
      .poll(() => page.getByTestId('broadcast-status').textContent(), { timeout: 10_000 })
      .toBe('WAITING');
    expect((await probed(page)).getUserMediaCalls).toBe(0);
    await page.getByRole('button', { name: 'Broadcast from this device' }).click();
    await expect
      .poll(() => page.getByTestId('broadcast-status').textContent(), { timeout: 15_000 })
      .toBe('LIVE');
    expect(await page.getByRole('button', { name: 'Turn camera off' }).count()).toBe(1);
    expect((await probed(page)).getUserMediaCalls).toBeGreaterThan(0);
  }, 60_000);

  it('counts a viewer once who watched signed out, then signed in on the same device', async () => {
    const host = await registerUser(server, uniqueName('uniq'));
    const viewer = await registerUser(server, uniqueName('uniqfan'));
    const broadcaster = await person(host);
    const streamId = await goLive(broadcaster, 'Counted once');

    const browser = await launchChromium();
    browsers.push(browser);
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/live/${streamId}`);
    await expect.poll(() => framesShown(page), { timeout: 15_000 }).toBeGreaterThan(5);
    await page.getByRole('link', { name: 'Sign in' }).first().click();
    await page.getByLabel('Username').fill(viewer.username);
    await page.getByLabel('Password').fill(viewer.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(new RegExp(`/live/${streamId}$`));
    await expect.poll(() => framesShown(page), { timeout: 15_000 }).toBeGreaterThan(5);
    await expect
      .poll(() => broadcaster.getByTestId('viewer-name').allTextContents(), { timeout: 10_000 })
      .toEqual([viewer.user.display_name]);

    await broadcaster.getByRole('button', { name: 'End stream' }).click();
    await broadcaster.getByRole('dialog').getByRole('button', { name: 'End stream' }).click();
    await expect
      .poll(() => broadcaster.getByTestId('summary-unique').textContent(), { timeout: 10_000 })
      .toBe('1');
  }, 90_000);

  it('stops the camera when turned off, and sends it again on the same connection when turned on', async () => {
    const host = await registerUser(server, uniqueName('camoff'));
    const viewer = await registerUser(server, uniqueName('camfan'));
    const broadcaster = await person(host);
    const streamId = await goLive(broadcaster, 'Camera off means off');
    const watcher = await person(viewer);
    await watcher.goto(`${server.url}/live/${streamId}`);
    await expect.poll(() => framesShown(watcher), { timeout: 15_000 }).toBeGreaterThan(5);
    const hostBefore = await probed(broadcaster);
    const viewerBefore = await probed(watcher);

    await broadcaster.getByRole('button', { name: 'Turn camera off' }).click();
    await expect
      .poll(() => broadcaster.getByRole('button', { name: 'Turn camera on' }).count())
      .toBe(1);
    const off = await probed(broadcaster);
    const cameras = off.tracks.filter((t) => t.kind === 'video');
    expect(cameras.length).toBeGreaterThan(0);
    expect(cameras.every((t) => t.state === 'ended')).toBe(true);
    expect(off.videoSenders).toEqual(['none', 'none', 'none']);
    // The microphone stays open (muting sends silence, see the report), so audio is still live.
    expect(off.tracks.filter((t) => t.kind === 'audio').some((t) => t.state === 'live')).toBe(true);
    await expect
      .poll(() => watcher.getByText('Camera is off').isVisible(), { timeout: 5000 })
      .toBe(true);
    // Video stops reaching the viewer.
    await sleep(1500);
    const stalled = await framesShown(watcher);
    await sleep(1500);
    expect(await framesShown(watcher)).toBeLessThanOrEqual(stalled + 2);

    await broadcaster.getByRole('button', { name: 'Turn camera on' }).click();
    await expect
      .poll(() => broadcaster.getByRole('button', { name: 'Turn camera off' }).count())
      .toBe(1);
    await expect.poll(() => watcher.getByTestId('camera-off').count(), { timeout: 5000 }).toBe(0);
    await expect
      .poll(() => framesShown(watcher), { timeout: 15_000 })
      .toBeGreaterThan(stalled + 10);
    const on = await probed(broadcaster);
    expect(on.tracks.filter((t) => t.kind === 'video' && t.state === 'live')).toHaveLength(1);
    // Every layer's section carries the camera again.
    expect(on.videoSenders).toEqual(['live', 'live', 'live']);
    // No new connection and no new offer on either side: the track was replaced in place.
    expect(on.peerConnections).toBe(hostBefore.peerConnections);
    expect(on.localDescriptions).toBe(hostBefore.localDescriptions);
    const viewerAfter = await probed(watcher);
    expect(viewerAfter.peerConnections).toBe(viewerBefore.peerConnections);
    expect(viewerAfter.localDescriptions).toBe(viewerBefore.localDescriptions);
  }, 120_000);
});
