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

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const artifacts = path.join(root, 'test-artifacts', 'web-pages');
const phone = { width: 390, height: 844 };

/** Frames decoded by the page's <video>. */
const framesDecoded = (page: Page) =>
  page.evaluate(() => {
    const video = document.querySelector<HTMLVideoElement>('[data-testid="remote-video"]');
    return video ? video.getVideoPlaybackQuality().totalVideoFrames : 0;
  });

/** How far the page is wider than the window (0 when it fits). */
const overflow = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

/** 60 characters, most of them one unbroken word: the hardest title to fit on a phone. */
const longTitle = 'Supercalifragilisticexpialidocious_marathon_from_the_rooftop';

describe('the web app’s pages: watching without an account, profiles, not found, layout', () => {
  let server: TestServer;
  const browsers: BrowserSession[] = [];
  const shot = (page: Page, name: string) =>
    page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    await mkdir(artifacts, { recursive: true });
    server = await startTestServer({
      // Streams started over the API without a publisher stay live through the layout checks.
      env: { WEB_DIR: path.join(root, 'web/dist'), PUBLISHER_GRACE_SECONDS: '600' },
    });
  });
  afterAll(async () => {
    for (const b of browsers) await b.close();
    await server?.stop();
  });

  /** A browser of its own; signed in as `user` from the first page when given. */
  const person = async (user?: TestUser, viewport = { width: 1280, height: 800 }) => {
    return signedInPage(browsers, user?.token, { viewport });
  };

  /** `host` goes live from the app's own form; resolves with the stream's id once it is LIVE. */
  const goLive = async (host: Page, title: string, options: { isPrivate?: boolean } = {}) => {
    await host.goto(`${server.url}/`);
    await host.getByLabel('Title').fill(title);
    if (options.isPrivate) await host.getByLabel(/Private/).check();
    await host.getByRole('button', { name: 'Go Live' }).click();
    await host.waitForURL(/\/live\/[0-9a-f-]{36}$/);
    await expect
      .poll(() => host.getByTestId('broadcast-status').textContent(), { timeout: 15_000 })
      .toBe('LIVE');
    return host.url().split('/').pop()!;
  };

  const endStream = async (host: Page) => {
    await host.getByRole('button', { name: 'End stream' }).click();
    await host.getByRole('dialog').getByRole('button', { name: 'End stream' }).click();
    // The host's page turns into the stream's summary once it has ended.
    await expect.poll(() => host.getByTestId('end-summary').isVisible()).toBe(true);
  };

  const cardTitled = (page: Page, title: string) =>
    page.getByTestId('stream-card').filter({ hasText: title });

  it('lets a visitor on a phone watch without an account, then sign in and chat on the same stream', async () => {
    const hostUser = await registerUser(server, uniqueName('host'));
    const visitorUser = await registerUser(server, uniqueName('visitor'));
    const [host, visitor] = await Promise.all([person(hostUser), person(undefined, phone)]);
    const title = 'Morning coffee, live';
    const streamId = await goLive(host, title);

    await visitor.goto(`${server.url}/`);
    await expect.poll(() => cardTitled(visitor, title).count(), { timeout: 10_000 }).toBe(1);
    await shot(visitor, '01-anonymous-list-phone');
    await cardTitled(visitor, title).click();
    await visitor.waitForURL(`${server.url}/live/${streamId}`);
    await expect.poll(() => framesDecoded(visitor), { timeout: 15_000 }).toBeGreaterThan(0);
    // The count is the server's, and it includes the visitor without an account.
    await expect
      .poll(() => visitor.getByTestId('viewer-count').textContent(), { timeout: 10_000 })
      .toBe('1');
    await expect.poll(() => host.getByTestId('viewer-count').textContent()).toBe('1');
    expect(await visitor.title()).toBe(`${title} · ${hostUser.user.display_name} · OnAir`);
    // Chat is there to read; writing and reacting wait for an account.
    expect(await visitor.getByLabel('Message', { exact: true }).count()).toBe(0);
    const prompt = visitor.getByRole('link', { name: 'Sign in to chat' });
    expect(await prompt.getAttribute('href')).toBe(`/signin?next=/live/${streamId}`);
    await shot(visitor, '02-anonymous-watching-phone');

    await prompt.click();
    await visitor.waitForURL(/\/signin\?next=/);
    await visitor.getByLabel('Username').fill(visitorUser.username);
    await visitor.getByLabel('Password').fill(visitorUser.password);
    await visitor.getByRole('button', { name: 'Sign in' }).click();
    await visitor.waitForURL(`${server.url}/live/${streamId}`);
    await expect.poll(() => framesDecoded(visitor), { timeout: 15_000 }).toBeGreaterThan(0);
    await visitor.getByLabel('Message', { exact: true }).fill('Hello from the phone');
    await visitor.getByRole('button', { name: 'Send message' }).click();
    for (const page of [host, visitor])
      await expect
        .poll(() =>
          page.getByTestId('chat-message').filter({ hasText: 'Hello from the phone' }).count(),
        )
        .toBe(1);
    // Signed in now, the same person is still counted once.
    await expect.poll(() => host.getByTestId('viewer-count').textContent()).toBe('1');
    const message = visitor.getByTestId('chat-message').filter({ hasText: 'Hello from the phone' });
    expect(await message.textContent()).toContain(`@${visitorUser.username}`);
    expect(await message.locator('time').textContent()).toMatch(/\d{1,2}:\d{2}/);
    expect(await overflow(visitor)).toBeLessThanOrEqual(0);
    await shot(visitor, '03-signed-in-chatting-phone');

    // The host's own message carries the Host badge for everyone.
    await host.getByLabel('Message', { exact: true }).fill('Welcome!');
    await host.getByLabel('Message', { exact: true }).press('Enter');
    const fromHost = visitor.getByTestId('chat-message').filter({ hasText: 'Welcome!' });
    await expect.poll(() => fromHost.getByTestId('host-badge').count()).toBe(1);
    expect(await message.getByTestId('host-badge').count()).toBe(0);
    await endStream(host);
  }, 180_000);

  it('lists a private stream for a follower only, and lets them watch it after Follow', async () => {
    const hostUser = await registerUser(server, uniqueName('priv'));
    const fanUser = await registerUser(server, uniqueName('fan'));
    const [host, fan] = await Promise.all([person(hostUser), person(fanUser)]);
    const title = 'Followers only hour';
    const streamId = await goLive(host, title, { isPrivate: true });

    // A public stream beside it shows the list has loaded, so "not listed" means something.
    const other = await registerUser(server, uniqueName('pub'));
    const res = await api(server.url)('POST', '/api/live/start', {
      token: other.token,
      body: { title: 'Public beside it' },
    });
    expect(res.status).toBe(201);
    await fan.goto(`${server.url}/`);
    await expect.poll(() => cardTitled(fan, 'Public beside it').count()).toBe(1);
    expect(await cardTitled(fan, title).count()).toBe(0);

    await fan.goto(`${server.url}/u/${hostUser.username}`);
    const follow = fan.getByRole('button', { name: 'Follow', exact: true });
    expect(await follow.getAttribute('aria-pressed')).toBe('false');
    await follow.click();
    await expect.poll(() => follow.getAttribute('aria-pressed')).toBe('true');
    await expect.poll(() => fan.getByTestId('follower-count').textContent()).toBe('1');
    await expect.poll(() => fan.getByTestId('live-now').count()).toBe(1);
    await shot(fan, '04-profile-following');

    await fan.goto(`${server.url}/`);
    await expect.poll(() => cardTitled(fan, title).count(), { timeout: 10_000 }).toBe(1);
    await cardTitled(fan, title).click();
    await fan.waitForURL(`${server.url}/live/${streamId}`);
    await expect.poll(() => framesDecoded(fan), { timeout: 15_000 }).toBeGreaterThan(0);
    await endStream(host);
    await api(server.url)('POST', `/api/live/end/${res.body.streamId}`, { token: other.token });
  }, 180_000);

  it('shows a not-found page with a way home for unknown paths and streams', async () => {
    const page = await person(undefined, phone);
    const streamRequests: string[] = [];
    page.on('request', (r) => {
      if (/\/api\/live\/(?!active|ice-servers)/.test(new URL(r.url()).pathname))
        streamRequests.push(new URL(r.url()).pathname);
    });
    const unknownStream = '4f7c1c7e-2b1d-4c55-9f5e-6f3f0a9d1b2c';
    for (const [pathname, heading] of [
      ['/no/such/page', 'Page not found'],
      ['/live/not-a-stream-id', 'Stream not found'],
      [`/live/${unknownStream}`, 'Stream not found'],
      ['/u/no_one_by_this_name_here', 'No one by that name'],
    ] as const) {
      await page.goto(`${server.url}${pathname}`);
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(heading);
      expect(await page.locator('main').count()).toBe(1);
      expect(await page.locator('h1').count()).toBe(1);
      expect(await page.title()).toBe('Not found · OnAir');
      expect(await overflow(page)).toBeLessThanOrEqual(0);
    }
    // A malformed id never reached the server; the unknown one was asked about once.
    expect(streamRequests.filter((p) => p.includes('not-a-stream-id'))).toEqual([]);
    expect(streamRequests).toContain(`/api/live/${unknownStream}`);
    await shot(page, '05-not-found');
    await page.getByRole('link', { name: 'Go to the home page' }).click();
    await page.waitForURL(`${server.url}/`);
    // The address changes before the router renders the page it names.
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Live');
  }, 60_000);

  it('fits every page at 390 px with a 60-character title', async () => {
    expect(longTitle).toHaveLength(60);
    const host = await registerUser(server, uniqueName('wide'));
    const viewerUser = await registerUser(server, uniqueName('reader'));
    const request = api(server.url);
    // One ended stream for the profile's history, then one live now.
    const past = await request('POST', '/api/live/start', {
      token: host.token,
      body: { title: longTitle, tags: ['a_rather_long_tag_for_a_phone'] },
    });
    expect(past.status).toBe(201);
    await request('POST', `/api/live/end/${past.body.streamId}`, { token: host.token });
    const live = await request('POST', '/api/live/start', {
      token: host.token,
      body: { title: longTitle, tags: ['a_rather_long_tag_for_a_phone', 'second'] },
    });
    expect(live.status).toBe(201);
    const streamId = live.body.streamId as string;
    await request('POST', `/api/live/${streamId}/comment`, {
      token: viewerUser.token,
      body: { comment: 'x'.repeat(120) },
    });

    const anonymous = await person(undefined, phone);
    const signedIn = await person(viewerUser, phone);
    const pages: [Page, string, string][] = [
      [anonymous, '/', 'list'],
      [signedIn, '/', 'list-signed-in'],
      [anonymous, `/live/${streamId}`, 'stream-anonymous'],
      [signedIn, `/live/${streamId}`, 'stream-signed-in'],
      [anonymous, `/u/${host.username}`, 'profile'],
      [signedIn, `/u/${host.username}`, 'profile-signed-in'],
      [anonymous, '/signin', 'signin'],
      [anonymous, '/signup', 'signup'],
      [anonymous, '/no/such/page', 'not-found'],
    ];
    for (const [page, pathname, name] of pages) {
      await page.goto(`${server.url}${pathname}`);
      await expect.poll(() => page.locator('h1').count()).toBe(1);
      if (pathname === '/')
        await expect.poll(() => cardTitled(page, longTitle).count(), { timeout: 10_000 }).toBe(1);
      if (pathname.startsWith('/live/'))
        await expect
          .poll(() => page.getByTestId('chat-message').count(), { timeout: 10_000 })
          .toBe(1);
      if (pathname.startsWith('/u/'))
        await expect.poll(() => page.getByTestId('past-stream').count()).toBe(1);
      expect(await page.locator('main').count(), name).toBe(1);
      expect((await page.title()).endsWith(' · OnAir'), name).toBe(true);
      expect(await overflow(page), name).toBeLessThanOrEqual(0);
      await shot(page, `06-fit-${name}`);
    }
    await request('POST', `/api/live/end/${streamId}`, { token: host.token });
  }, 120_000);

  it('says what a username must be, in plain words at the field', async () => {
    const page = await person(undefined, phone);
    await page.goto(`${server.url}/signup`);
    await page.getByLabel('Username').fill('ab');
    await page.getByLabel('Password').fill('a good password');
    await page.getByRole('button', { name: 'Sign up' }).click();
    const username = page.getByLabel('Username');
    await expect.poll(() => username.getAttribute('aria-invalid')).toBe('true');
    const describedBy = (await username.getAttribute('aria-describedby'))!;
    expect(await page.locator(`[id="${describedBy}"]`).textContent()).toBe(
      'Usernames are 3 to 30 characters: letters, digits and _.',
    );
    const text = (await page.locator('main').textContent()) ?? '';
    expect(text).not.toMatch(/too small|too big|expected|>=|invalid_/i);
    expect(page.url()).toBe(`${server.url}/signup`);
    // Nothing was sent: no account by that name.
    const signIn = await api(server.url)('POST', '/api/auth/login', {
      body: { username: 'ab', password: 'a good password' },
    });
    expect(signIn.status).toBe(401);
    await shot(page, '07-signup-field-error');
  }, 60_000);
});
