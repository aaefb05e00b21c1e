import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  registerUser,
  startTestServer,
  uniqueName,
  type TestServer,
  type TestUser,
} from '../server/test/support/server';
import { signedInPage, type BrowserSession } from './support/chromium';
import { framesDecoded } from './support/app-video';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const artifacts = path.join(root, 'test-artifacts', 'private-stream');
const phone = { width: 390, height: 844 };

/** Whether the page's <video> shows a stream at all. */
const showsVideo = (page: Page) =>
  page.evaluate(
    () =>
      document.querySelector<HTMLVideoElement>('[data-testid="remote-video"]')?.srcObject != null,
  );

/** Set on the page once; still there later only if the page was never loaded again. */
const markPage = (page: Page) =>
  page.evaluate(() => ((window as unknown as { sameLoad: boolean }).sameLoad = true));
const sameLoad = (page: Page) =>
  page.evaluate(() => (window as unknown as { sameLoad?: boolean }).sameLoad === true);

describe('a private stream for outsiders (issue 18, point 7)', () => {
  let server: TestServer;
  const browsers: BrowserSession[] = [];
  const shot = (page: Page, name: string) =>
    page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    await mkdir(artifacts, { recursive: true });
    server = await startTestServer({ env: { WEB_DIR: path.join(root, 'web/dist') } });
  });
  afterAll(async () => {
    for (const b of browsers) await b.close();
    await server?.stop();
  });

  const person = async (user?: TestUser, viewport = { width: 1280, height: 800 }) => {
    return signedInPage(browsers, user?.token, { viewport });
  };

  const goLivePrivately = async (host: Page, title: string) => {
    await host.goto(`${server.url}/`);
    await host.getByLabel('Title').fill(title);
    await host.getByLabel(/Private/).check();
    await host.getByRole('button', { name: 'Go Live' }).click();
    await host.waitForURL(/\/live\/[0-9a-f-]{36}$/);
    await expect
      .poll(() => host.getByTestId('broadcast-status').textContent(), { timeout: 15_000 })
      .toBe('LIVE');
    return host.url().split('/').pop()!;
  };

  const send = async (page: Page, text: string) => {
    await page.getByRole('textbox', { name: 'Message' }).fill(text);
    await page.getByRole('button', { name: 'Send message' }).click();
    await expect.poll(() => page.getByText(text).count()).toBeGreaterThan(0);
  };

  it('shows an outsider whose stream it is, lets them in on Follow, out on unfollow and back in, all without a reload', async () => {
    const hostUser = await registerUser(server, uniqueName('host'));
    const outsiderUser = await registerUser(server, uniqueName('out'));
    const host = await person(hostUser);
    const streamId = await goLivePrivately(host, 'Band practice, friends only');

    // Signed out, on a phone: whose it is, and sign in first, which comes back here.
    const outsider = await person(undefined, phone);
    await outsider.goto(`${server.url}/live/${streamId}`);
    const screen = outsider.getByTestId('follow-to-watch');
    await expect.poll(() => screen.isVisible()).toBe(true);
    expect(await screen.getByRole('heading').textContent()).toBe('Follow to watch');
    expect(
      await screen.getByRole('link', { name: hostUser.user.display_name }).getAttribute('href'),
    ).toBe(`/u/${hostUser.username}`);
    // Nothing of the stream itself reaches an outsider's page.
    expect(await outsider.getByText('Band practice').count()).toBe(0);
    await shot(outsider, '01-outsider-signed-out-phone');
    await screen.getByRole('link', { name: 'Sign in to follow' }).click();
    await outsider.getByLabel('Username').fill(outsiderUser.username);
    await outsider.getByLabel('Password').fill(outsiderUser.password);
    await outsider.getByRole('button', { name: 'Sign in', exact: true }).click();
    await outsider.waitForURL(`${server.url}/live/${streamId}`);

    // Signed in, not following: Follow to watch, with the Follow toggle's usual name and state.
    const follow = outsider.getByTestId('follow-to-watch').getByRole('button', { name: 'Follow' });
    await expect.poll(() => follow.isVisible()).toBe(true);
    expect(await follow.getAttribute('aria-pressed')).toBe('false');
    await shot(outsider, '02-outsider-signed-in-phone');
    await markPage(outsider);
    await follow.click();

    // In: the video plays and the chat works, on the same page.
    await expect.poll(() => framesDecoded(outsider), { timeout: 20_000 }).toBeGreaterThan(0);
    await send(outsider, 'Hello from a new follower');
    await expect.poll(() => host.getByText('Hello from a new follower').count()).toBeGreaterThan(0);
    expect(await sameLoad(outsider)).toBe(true);

    // Unfollowed (from another device): the video stops and the chat box says why.
    const unfollowed = await api(server.url)('DELETE', `/api/users/${hostUser.user.id}/follow`, {
      token: outsiderUser.token,
    });
    expect(unfollowed.status).toBe(200);
    const why = outsider.getByTestId('chat-followers-only');
    await expect.poll(() => why.isVisible()).toBe(true);
    expect(await why.textContent()).toBe(
      `This stream is for followers of ${hostUser.user.display_name}. Follow to watch and chat.`,
    );
    await expect
      .poll(() => outsider.getByRole('textbox', { name: 'Message' }).isDisabled())
      .toBe(true);
    await expect.poll(() => showsVideo(outsider)).toBe(false);
    await shot(outsider, '03-unfollowed-phone');

    // Following again restores video and chat, still without a reload.
    await outsider.getByTestId('follow-to-watch').getByRole('button', { name: 'Follow' }).click();
    await expect
      .poll(() => outsider.getByRole('textbox', { name: 'Message' }).isEnabled())
      .toBe(true);
    await expect.poll(() => why.count()).toBe(0);
    await expect.poll(() => framesDecoded(outsider), { timeout: 20_000 }).toBeGreaterThan(0);
    await send(outsider, 'Back again');
    await expect.poll(() => host.getByText('Back again').count()).toBeGreaterThan(0);
    expect(await sameLoad(outsider)).toBe(true);
  }, 240_000);

  it('shows a signed-in outsider on a wide screen the owner and Follow to watch, keeps the stream off their list, and lets them in when they follow elsewhere', async () => {
    const hostUser = await registerUser(server, uniqueName('host'));
    const strangerUser = await registerUser(server, uniqueName('stranger'));
    const started = await api(server.url)('POST', '/api/live/start', {
      token: hostUser.token,
      body: { title: 'Quiet room', isPrivate: true },
    });
    expect(started.status).toBe(201);
    const stranger = await person(strangerUser);
    await stranger.goto(`${server.url}/`);
    await expect.poll(() => stranger.getByText('Quiet room').count(), { timeout: 3000 }).toBe(0);
    await stranger.goto(`${server.url}/live/${started.body.streamId}`);
    const screen = stranger.getByTestId('follow-to-watch');
    await expect.poll(() => screen.isVisible()).toBe(true);
    expect(await screen.textContent()).toContain(`@${hostUser.username}`);
    expect(await screen.getByRole('button', { name: 'Follow' }).getAttribute('aria-pressed')).toBe(
      'false',
    );
    await shot(stranger, '04-outsider-signed-in-wide');

    // Following from elsewhere (another tab, the phone) lets this page in too.
    await api(server.url)('POST', `/api/users/${hostUser.user.id}/follow`, {
      token: strangerUser.token,
    });
    await expect.poll(() => screen.count()).toBe(0);
    await expect.poll(() => stranger.getByText('Quiet room').count()).toBeGreaterThan(0);
    await expect
      .poll(() => stranger.getByRole('textbox', { name: 'Message' }).isEnabled())
      .toBe(true);
    await api(server.url)('POST', `/api/live/end/${started.body.streamId}`, {
      token: hostUser.token,
    });
  }, 120_000);
});
