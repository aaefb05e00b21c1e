/**
 * `npm run screenshots`: the production build on a temporary data directory, driven through its
 * main screens by Chromium with a fake camera, at a phone's width and a laptop's. PNGs go to
 * docs/screenshots/ (shown in the README).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import type { AuthResponse, StartedStream } from '@onair/protocol';
import { launchChromium, type BrowserSession } from '../e2e/support/chromium';
import { api, startTestServer, type TestServer } from '../server/test/support/server';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'docs/screenshots');
const phone = { width: 390, height: 844 };
const laptop = { width: 1280, height: 800 };

const say = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for `check` to hold, or gives up after `ms` (a screenshot of whatever is there is still useful). */
async function until(check: () => Promise<boolean>, ms = 15_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true;
    await sleep(250);
  }
  return false;
}

/** Whether the page's player has shown more than ten frames of the stream. */
const playing = (page: Page) =>
  page.evaluate(
    () =>
      (document
        .querySelector<HTMLVideoElement>('[data-testid="remote-video"]')
        ?.getVideoPlaybackQuality().totalVideoFrames ?? 0) > 10,
  );

/** A scene for a stream that has no camera here: a gradient with a subject, shot as a JPEG. */
const scenes = [
  { from: '#f59e0b', to: '#be123c', emoji: '🏺', caption: 'Wheel-thrown bowls' },
  { from: '#0ea5e9', to: '#312e81', emoji: '🎸', caption: 'Open mic' },
];

async function main() {
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'onair-screens-'));
  const browsers: BrowserSession[] = [];
  let server: TestServer | undefined;
  try {
    server = await startTestServer({
      env: {
        WEB_DIR: path.join(root, 'web/dist'),
        DATA_DIR: dataDir,
        // The list's extra streams have no publisher: they stay live for the whole run.
        PUBLISHER_GRACE_SECONDS: '600',
      },
    });
    const base = server.url;
    const request = api(base);
    say(`server at ${base}`);

    const register = async (username: string, displayName: string) => {
      const res = await request<AuthResponse>('POST', '/api/auth/register', {
        body: { username, password: 'a good password', displayName },
      });
      if (res.status !== 201) throw new Error(`register ${username}: ${res.status}`);
      return res.body;
    };
    const anna = await register('anna', 'Anna Rivera');
    const ben = await register('ben', 'Ben Okafor');
    const cara = await register('cara', 'Cara Lindqvist');
    const dev = await register('dev', 'Dev Malhotra');
    // Ben follows everyone: he hears of each of them going live.
    for (const host of [anna, cara, dev])
      await request('POST', `/api/users/${host.user.id}/follow`, { token: ben.token });

    const open = async (token: string | null, viewport = laptop, mobile = false) => {
      const browser = await launchChromium({ viewport, mobile });
      browsers.push(browser);
      if (token)
        await browser.context.addInitScript((t) => localStorage.setItem('onair.token', t), token);
      return browser.context.newPage();
    };
    /**
     * The page at a phone's width and a laptop's. `tall`: the window grows to the page's height
     * (a full-page capture would paint fixed headers and bars in the middle of the page).
     */
    const both = async (page: Page, name: string, options: { tall?: boolean } = {}) => {
      for (const viewport of [laptop, phone]) {
        await page.setViewportSize(viewport);
        await sleep(400); // layout and video sizes settle
        if (options.tall) {
          const height = await page.evaluate(() => document.documentElement.scrollHeight);
          await page.setViewportSize({
            width: viewport.width,
            height: Math.min(Math.max(height, viewport.height), 2400),
          });
          await sleep(300);
        }
        const file = path.join(out, `${name}-${viewport.width}.png`);
        await page.screenshot({ path: file });
        say(`wrote ${path.relative(root, file)}`);
      }
      await page.setViewportSize(laptop);
    };

    // Two streams started over the API, each with a thumbnail made from a scene.
    const painter = await open(null);
    for (const [i, [host, title, tags]] of (
      [
        [cara, 'Morning pottery: throwing a set of bowls', ['pottery', 'slow']],
        [dev, 'Open mic night, come say hi', ['music', 'live']],
      ] as const
    ).entries()) {
      const started = await request<StartedStream>('POST', '/api/live/start', {
        token: host.token,
        body: { title, description: '', tags, isPrivate: false },
      });
      const scene = scenes[i % scenes.length] ?? {
        from: '#333',
        to: '#111',
        emoji: '📺',
        caption: '',
      };
      await painter.setViewportSize({ width: 480, height: 270 });
      await painter.setContent(
        `<body style="margin:0;height:270px;display:flex;flex-direction:column;align-items:center;justify-content:center;gap:8px;background:linear-gradient(135deg,${scene.from},${scene.to});font:600 22px system-ui;color:white"><div style="font-size:96px">${scene.emoji}</div>${scene.caption}</body>`,
      );
      const jpeg = await painter.screenshot({ type: 'jpeg', quality: 80 });
      const put = await fetch(`${base}/api/live/${started.body.streamId}/thumbnail`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${host.token}`, 'content-type': 'image/jpeg' },
        body: new Uint8Array(jpeg),
      });
      if (!put.ok) say(`thumbnail for ${title}: ${put.status} ${await put.text()}`);
    }

    // Anna and Cara have profile pictures (the header, chat, cards and profiles show them); Ben
    // and Dev keep the first letter of their names.
    for (const [user, emoji, colour] of [
      [anna, '🎹', '#7c3aed'],
      [cara, '🏺', '#0f766e'],
    ] as const) {
      await painter.setViewportSize({ width: 256, height: 256 });
      await painter.setContent(
        `<body style="margin:0;height:256px;display:flex;align-items:center;justify-content:center;background:${colour};font-size:150px">${emoji}</body>`,
      );
      const picture = await painter.screenshot({ type: 'jpeg', quality: 85 });
      const put = await fetch(`${base}/api/me/avatar`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${user.token}`, 'content-type': 'image/jpeg' },
        body: new Uint8Array(picture),
      });
      if (!put.ok) say(`avatar for ${user.user.username}: ${put.status} ${await put.text()}`);
    }

    // Signed out: sign in, and a page that does not exist.
    const visitor = await open(null);
    await visitor.goto(`${base}/signin`);
    await until(() => visitor.getByLabel('Username').isVisible());
    await both(visitor, '01-sign-in');
    await visitor.goto(`${base}/no-such-page`);
    await sleep(500);
    await both(visitor, '02-not-found');

    // Anna checks her camera and opens the OBS panel, then goes live from the browser.
    const host = await open(anna.token);
    await host.goto(`${base}/`);
    await until(() => host.getByRole('button', { name: 'Go Live' }).isVisible());
    await host.getByLabel('Title').first().fill('Sunset synth session on the roof');
    await host.getByLabel('Tags (comma separated)').first().fill('synth, sunset');
    await host.getByRole('button', { name: 'Camera check' }).click();
    await host.getByRole('button', { name: 'Stream from OBS' }).click();
    await until(() => host.getByTestId('stream-key').isVisible());
    await sleep(1500);
    const goLive = host.getByRole('form', { name: 'Go live' });
    await goLive.scrollIntoViewIfNeeded();
    await both(host, '03-go-live-camera-check-obs', { tall: true });
    // Ben is on the home page when Anna goes live: a toast tells him.
    const viewer = await open(ben.token);
    await viewer.goto(`${base}/`);
    await until(() => viewer.getByText('Connected').isVisible());
    await host.getByRole('button', { name: 'Go Live' }).click();
    await until(() => viewer.getByTestId('notification-toast').isVisible(), 5000);
    await both(viewer, '14-notification-toast');
    await viewer.getByRole('button', { name: 'Dismiss' }).click();
    await until(async () => (await host.getByTestId('broadcast-status').textContent()) === 'LIVE');

    // Ben's list once Anna's own thumbnail is up (about 5 s after going live): those he follows first.
    await until(async () => (await viewer.getByTestId('stream-card').count()) === 3);
    await until(
      async () => (await viewer.locator('[data-testid="stream-card"] img, li img').count()) >= 3,
      15_000,
    );
    await sleep(1000);
    await both(viewer, '04-home-live-list', { tall: true });
    // The bell: what Ben was told, newest first (opening it marks them read).
    await viewer.getByRole('button', { name: 'Notifications', exact: true }).click();
    await until(async () => (await viewer.getByTestId('notification-item').count()) === 3);
    await both(viewer, '15-notifications-menu');
    await viewer.keyboard.press('Escape');

    // Ben watches Anna and chats; Cara joins in.
    await viewer
      .getByRole('link', { name: /Sunset synth session/ })
      .first()
      .click();
    await until(() => playing(viewer));
    const streamId = viewer.url().split('/').pop() ?? '';
    const caraPage = await open(cara.token);
    await caraPage.goto(`${base}/live/${streamId}`);
    const say2 = async (page: Page, text: string) => {
      await page.getByLabel('Message', { exact: true }).fill(text);
      await page.getByLabel('Message', { exact: true }).press('Enter');
      await sleep(300);
    };
    await say2(viewer, 'That sky is unreal 🌅');
    await say2(caraPage, 'What synth is that?');
    await say2(host, 'A little Korg, thanks for coming!');
    await caraPage.getByRole('button', { name: 'React 🔥' }).click();
    await sleep(800);
    await both(viewer, '05-viewer-with-chat');
    await both(host, '06-broadcaster-live');

    // Ben opens the player's quality menu, named by the layers Anna sends (reported every few
    // seconds), and Anna's health panel lists those layers (behind its toggle on a phone).
    await until(async () => {
      await viewer.getByRole('button', { name: /^Quality/ }).click();
      const entries = await viewer.getByRole('menuitemradio').count();
      if (entries < 4) await viewer.keyboard.press('Escape');
      return entries >= 4;
    }, 10_000);
    await both(viewer, '22-quality-menu');
    await viewer.keyboard.press('Escape');
    await until(() => host.getByTestId('stream-layers').isVisible(), 10_000);
    await host.screenshot({ path: path.join(out, '23-host-layers-1280.png') });
    await host.setViewportSize(phone);
    await sleep(400);
    await host.getByRole('button', { name: 'Show stream health' }).click();
    await host.screenshot({ path: path.join(out, '23-host-layers-390.png') });
    await host.getByRole('button', { name: 'Hide stream health' }).click();
    await host.setViewportSize(laptop);
    say('wrote docs/screenshots/23-host-layers-{1280,390}.png');

    // Someone watches without an account: Anna's list names Ben and Cara and counts the rest.
    const anonymous = await open(null);
    await anonymous.goto(`${base}/live/${streamId}`);
    await until(async () =>
      ((await host.getByTestId('viewer-others').textContent()) ?? '').includes('1 other'),
    );
    // Dev drops by: Anna's chat column says so.
    const devPage = await open(dev.token);
    await devPage.goto(`${base}/live/${streamId}`);
    await until(async () =>
      ((await host.getByTestId('join-notices').textContent()) ?? '').includes(
        'Dev Malhotra joined',
      ),
    );
    await both(host, '19-host-viewer-list');
    // Anna opens her stream on a second device: it manages the stream without its camera.
    const managing = await open(anna.token);
    await managing.goto(`${base}/live/${streamId}`);
    await until(() => playing(managing));
    await until(async () => (await managing.getByTestId('viewer-name').count()) === 3, 5000);
    await both(managing, '20-host-managing-view');

    // Anna makes Cara a moderator and slows the chat down; Cara opens the actions on Ben's message.
    await host.getByRole('tab', { name: 'Moderation' }).click();
    await host.getByLabel('Username of a new moderator').fill('cara');
    await host.getByRole('button', { name: 'Add moderator' }).click();
    await until(async () => (await host.getByTestId('moderator').count()) === 1, 5000);
    await host.getByLabel('Slow mode').selectOption('30');
    await until(() => viewer.getByTestId('slow-mode').isVisible(), 5000);
    await both(host, '12-moderation-panel');
    await until(() => caraPage.getByRole('tab', { name: 'Moderation' }).isVisible(), 5000);
    await caraPage.getByRole('button', { name: 'Moderate @ben’s message' }).click();
    await both(caraPage, '13-moderator-message-actions');
    await host.getByRole('tab', { name: 'Chat' }).click();

    // The host turns the camera off: what viewers see.
    await host.getByRole('button', { name: 'Turn camera off' }).click();
    await host.getByRole('button', { name: 'Mute microphone' }).click();
    await until(() => viewer.getByText('Camera is off').isVisible(), 5000);
    await both(viewer, '07-viewer-camera-off');
    await host.getByRole('button', { name: 'Turn camera on' }).click();

    // Anna ends: her summary, and Ben's end screen with what else is live.
    await host.getByRole('button', { name: 'End stream' }).click();
    await host.getByRole('dialog').getByRole('button', { name: 'End stream' }).click();
    await until(async () => (await host.getByTestId('summary-comments').count()) === 1);
    await sleep(500);
    await both(host, '08-end-summary');
    await until(() => viewer.getByTestId('stream-ended').isVisible());
    await sleep(500);
    await both(viewer, '09-viewer-stream-ended', { tall: true });

    // Once the recording is closed the same page is the replay: Ben watches the end of it, the
    // chat beside it as it was at that moment; Anna's replay has her download and delete.
    const seekNearEnd = (page: Page) =>
      until(() =>
        page.evaluate(() => {
          const video = document.querySelector<HTMLVideoElement>('[data-testid="replay-video"]');
          if (!video || !(video.duration > 5)) return false;
          if (video.currentTime < video.duration - 8) video.currentTime = video.duration - 4;
          void video.play().catch(() => undefined);
          return video.getVideoPlaybackQuality().totalVideoFrames > 10;
        }),
      );
    await until(() => viewer.getByTestId('replay-video').isVisible(), 60_000);
    await seekNearEnd(viewer);
    await until(
      async () =>
        (await viewer.getByTestId('replay-chat').textContent())?.includes('Korg') ?? false,
    );
    await both(viewer, '24-replay-with-chat');
    await host.goto(`${base}/live/${streamId}`);
    await until(() => host.getByTestId('recording-controls').isVisible());
    await seekNearEnd(host);
    await both(host, '25-host-replay-controls');

    // Profile and settings.
    await viewer.goto(`${base}/u/anna`);
    await sleep(1500);
    await both(viewer, '10-profile', { tall: true });
    await host.goto(`${base}/settings`);
    await until(() => host.getByTestId('stream-key-panel').isVisible());
    await sleep(500);
    await both(host, '11-settings', { tall: true });

    // A tag's page: who is live with it, then recent streams.
    await viewer.goto(`${base}/tags/music`);
    await until(async () => (await viewer.getByTestId('stream-card').count()) === 1);
    await sleep(500);
    await both(viewer, '16-tag-page', { tall: true });

    // Eli goes live from a phone held upright: the picture stays portrait for him and for Ben.
    const eli = await register('eli', 'Eli Navarro');
    const phoneHost = await open(eli.token, phone, true);
    await phoneHost.goto(`${base}/`);
    await phoneHost.getByLabel('Title').first().fill('Walking the old town, upright');
    await phoneHost.getByRole('button', { name: 'Go Live' }).click();
    await until(
      async () => (await phoneHost.getByTestId('broadcast-status').textContent()) === 'LIVE',
    );
    await sleep(1500);
    const portraitHost = path.join(out, '17-portrait-broadcast-host-390.png');
    await phoneHost.screenshot({ path: portraitHost });
    say(`wrote ${path.relative(root, portraitHost)}`);
    await viewer.goto(phoneHost.url());
    await until(() => playing(viewer));
    await both(viewer, '18-portrait-broadcast-viewer');
    // The same stream where WebRTC cannot reach (here asked for with ?playback=hls): live HLS,
    // a few seconds behind, and the player says so.
    await viewer.goto(`${phoneHost.url()}?playback=hls`);
    await until(() => viewer.getByTestId('hls-fallback-notice').isVisible());
    await until(() => playing(viewer));
    await both(viewer, '26-hls-fallback');

    // A private stream's link opened by someone who does not follow its host: whose it is, and
    // Follow to watch.
    const erin = await register('erin', 'Erin Walsh');
    const hidden = await request<StartedStream>('POST', '/api/live/start', {
      token: erin.token,
      body: { title: 'Band practice, friends only', description: '', tags: [], isPrivate: true },
    });
    await viewer.goto(`${base}/live/${hidden.body.streamId}`);
    await until(() => viewer.getByTestId('follow-to-watch').isVisible());
    await both(viewer, '21-private-stream-outsider');
  } finally {
    for (const b of browsers) await b.close();
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
