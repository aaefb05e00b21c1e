/**
 * Followers find out (issue 18, point 5), in Chromium: a follower on the home page gets a toast
 * within 2 s of their host pressing Go Live, the bell counts it and lists it, the home page puts
 * followed hosts first, and the stream page and the ended screen have a Follow button.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stream, UserProfile } from '@onair/protocol';
import {
  api,
  registerUser,
  startTestServer,
  type TestServer,
  type TestUser,
} from '../server/test/support/server';
import { signedInPage, type BrowserSession } from './support/chromium';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const probeScript = path.join(root, 'e2e/support/blip-probe.js');

describe('followers find out in the browser', () => {
  let server: TestServer;
  const browsers: BrowserSession[] = [];
  const request = () => api(server.url);

  beforeAll(async () => {
    server = await startTestServer({
      // Streams started over the API without a publisher stay live through the checks.
      env: { WEB_DIR: path.join(root, 'web/dist'), PUBLISHER_GRACE_SECONDS: '600' },
    });
  });
  afterAll(async () => {
    for (const b of browsers) await b.close();
    await server?.stop();
  });

  /** A browser of its own, signed in as `user` from the first page. */
  const person = async (user: TestUser, viewport = { width: 1280, height: 800 }) => {
    return signedInPage(browsers, user.token, { viewport });
  };
  const follow = (fan: TestUser, host: TestUser) =>
    request()('POST', `/api/users/${host.user.id}/follow`, { token: fan.token });
  const startOverApi = async (host: TestUser, title: string) => {
    const res = await request()<Stream>('POST', '/api/live/start', {
      token: host.token,
      body: { title },
    });
    expect(res.status).toBe(201);
    return res.body.streamId;
  };
  /** The home page once its socket is connected (a notification needs somewhere to arrive). */
  const home = async (page: Page) => {
    await page.goto(`${server.url}/`);
    await page.getByRole('status').filter({ hasText: 'Connected' }).waitFor();
  };

  it('toasts a follower on the home page within 2 s of Go Live, counts it on the bell and lists it', async () => {
    const [host, fan] = await Promise.all([registerUser(server), registerUser(server)]);
    expect((await follow(fan, host)).status).toBe(200);
    const [hostPage, fanPage] = await Promise.all([person(host), person(fan)]);
    await home(fanPage);
    const bell = fanPage.getByRole('button', { name: 'Notifications', exact: true });
    await expect.poll(() => bell.isVisible()).toBe(true);
    expect(await fanPage.getByTestId('notification-count').count()).toBe(0);

    await hostPage.goto(`${server.url}/`);
    await hostPage.getByLabel('Title').fill('Sunrise over the bay');
    const toast = fanPage.getByTestId('notification-toast');
    const pressedAt = Date.now();
    await hostPage.getByRole('button', { name: 'Go Live' }).click();
    await toast.waitFor({ timeout: 2000 });
    const delayMs = Date.now() - pressedAt;
    expect(delayMs).toBeLessThan(2000);
    const toastText = await toast.textContent();
    expect(toastText).toContain(`${host.user.display_name} is live`);
    expect(toastText).toContain('Sunrise over the bay');
    // The toast is in a polite live region.
    expect(await fanPage.getByRole('status').filter({ has: toast }).count()).toBe(1);
    await hostPage.waitForURL(/\/live\/[0-9a-f-]{36}$/);
    const streamId = hostPage.url().split('/').pop()!;
    expect(await toast.getByRole('link').getAttribute('href')).toBe(`/live/${streamId}`);

    // The bell counts it; the home page has the host in its Following row.
    expect(await fanPage.getByTestId('notification-count').textContent()).toBe('1');
    const row = fanPage.getByTestId('following-row');
    await row.waitFor();
    expect(await row.getByRole('heading', { name: 'Following' }).isVisible()).toBe(true);
    expect(await row.getByTestId('stream-card').count()).toBe(1);
    expect(await row.getByTestId('stream-card').textContent()).toContain('Sunrise over the bay');

    // Opening the bell lists it, links to the stream, and marks it read.
    await bell.click();
    const panel = fanPage.getByTestId('notifications-panel');
    const item = panel.getByTestId('notification-item');
    await item.waitFor();
    expect(await item.getAttribute('href')).toBe(`/live/${streamId}`);
    expect(await item.textContent()).toContain('Sunrise over the bay');
    await expect.poll(() => fanPage.getByTestId('notification-count').count()).toBe(0);
    await expect
      .poll(
        async () =>
          (await request()('GET', '/api/me/notifications', { token: fan.token })).body.unreadCount,
      )
      .toBe(0);
    await item.click();
    await fanPage.waitForURL(`${server.url}/live/${streamId}`);
    // The follower sees the host's Follow button pressed.
    const followButton = fanPage.getByRole('button', { name: 'Follow', exact: true });
    await expect.poll(() => followButton.getAttribute('aria-pressed')).toBe('true');
  }, 90_000);

  it('counts on the bell what was sent while the connection was down, once it is back', async () => {
    const [host, fan] = await Promise.all([registerUser(server), registerUser(server)]);
    await follow(fan, host);
    const page = await person(fan);
    await page.addInitScript({ path: probeScript });
    await home(page);
    await page.evaluate(() => (window as any).blipProbe.holdSockets());
    await page.getByRole('status').filter({ hasText: 'Connecting…' }).waitFor();
    const streamId = await startOverApi(host, 'Started while you were away');
    await expect
      .poll(
        async () =>
          (await request()('GET', '/api/me/notifications', { token: fan.token })).body.unreadCount,
      )
      .toBe(1);
    expect(await page.getByTestId('notification-count').count()).toBe(0);
    await page.evaluate(() => (window as any).blipProbe.releaseSockets());
    await expect
      .poll(() => page.getByTestId('notification-count').textContent(), { timeout: 15_000 })
      .toBe('1');
    await page.getByRole('button', { name: 'Notifications', exact: true }).click();
    expect(
      await page
        .getByTestId('notifications-panel')
        .getByTestId('notification-item')
        .getAttribute('href'),
    ).toBe(`/live/${streamId}`);
    await request()('POST', `/api/live/end/${streamId}`, { token: host.token });
  }, 60_000);

  it('puts followed hosts who are live above everyone else on the home page', async () => {
    const [followed, other, fan] = await Promise.all([
      registerUser(server),
      registerUser(server),
      registerUser(server),
    ]);
    await follow(fan, followed);
    const otherStream = await startOverApi(other, 'Someone else live');
    const followedStream = await startOverApi(followed, 'A followed host live');
    const page = await person(fan);
    await home(page);
    const row = page.getByTestId('following-row');
    await row.waitFor();
    const cardsIn = (scope: ReturnType<Page['getByTestId']>) =>
      scope
        .getByTestId('stream-card')
        .evaluateAll((cards) => cards.map((c) => c.getAttribute('href')));
    expect(await cardsIn(row)).toEqual([`/live/${followedStream}`]);
    const rest = page.locator('section[aria-labelledby="active-heading"]');
    expect(await rest.getByRole('heading').first().textContent()).toBe('Everyone else');
    await expect.poll(() => cardsIn(rest)).toContain(`/live/${otherStream}`);
    expect(await cardsIn(rest)).not.toContain(`/live/${followedStream}`);
    // The row is above the rest.
    const rowBox = await row.boundingBox();
    const restBox = await rest.boundingBox();
    expect(rowBox!.y).toBeLessThan(restBox!.y);
    for (const host of [followed, other])
      await request()('POST', `/api/live/end/${host === followed ? followedStream : otherStream}`, {
        token: host.token,
      });
  }, 60_000);

  it('follows the host from the stream page, and offers it again on the ended screen', async () => {
    const [host, viewer] = await Promise.all([registerUser(server), registerUser(server)]);
    const streamId = await startOverApi(host, 'Follow me from here');
    const page = await person(viewer, { width: 390, height: 844 });
    await page.goto(`${server.url}/live/${streamId}`);
    await page.getByTestId('stream-title').waitFor();
    const button = page.getByRole('button', { name: 'Follow', exact: true });
    await expect.poll(() => button.getAttribute('aria-pressed')).toBe('false');
    await button.click();
    await expect.poll(() => button.getAttribute('aria-pressed')).toBe('true');
    const profile = await request()<UserProfile>('GET', `/api/users/${host.user.id}`, {
      token: viewer.token,
    });
    expect(profile.body.isFollowing).toBe(true);

    // The stream ends: the ended screen offers the same toggle, already pressed; unfollowing there works.
    await request()('POST', `/api/live/end/${streamId}`, { token: host.token });
    await page.getByTestId('stream-ended').waitFor();
    const again = page
      .getByTestId('stream-ended')
      .getByRole('button', { name: 'Follow', exact: true });
    await expect.poll(() => again.getAttribute('aria-pressed')).toBe('true');
    await again.click();
    await expect.poll(() => again.getAttribute('aria-pressed')).toBe('false');
    await expect
      .poll(
        async () =>
          (
            await request()<UserProfile>('GET', `/api/users/${host.user.id}`, {
              token: viewer.token,
            })
          ).body.isFollowing,
      )
      .toBe(false);
    // The host never sees a Follow button for themselves.
    const hostPage = await person(host);
    await hostPage.goto(`${server.url}/u/${host.username}`);
    await hostPage.getByRole('heading', { level: 1 }).waitFor();
    expect(await hostPage.getByRole('button', { name: 'Follow', exact: true }).count()).toBe(0);
  }, 60_000);
});
