/**
 * Profiles in the browser: a picture uploaded in settings shows in the header and on the profile,
 * a name starting with an emoji shows that emoji whole, and a stream's tags lead to the tag's page.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readImageHeader } from '../server/src/live/image-header';
import { solidPng } from '../server/test/support/images';
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
const artifacts = path.join(root, 'test-artifacts', 'profiles');

describe('profiles: pictures, emoji initials, tags', () => {
  let server: TestServer;
  const browsers: BrowserSession[] = [];
  const shot = (page: Page, name: string) =>
    page.screenshot({ path: path.join(artifacts, `${name}.png`) });

  beforeAll(async () => {
    await mkdir(artifacts, { recursive: true });
    server = await startTestServer({
      // Streams started over the API without a publisher stay live through the test.
      env: { WEB_DIR: path.join(root, 'web/dist'), PUBLISHER_GRACE_SECONDS: '600' },
    });
  });
  afterAll(async () => {
    for (const b of browsers) await b.close();
    await server?.stop();
  });

  const person = async (user?: TestUser, viewport = { width: 1280, height: 800 }) => {
    return signedInPage(browsers, user?.token, { viewport });
  };

  const headerAvatar = (page: Page) => page.locator('header').getByTestId('avatar');
  /** The header picture's source once the browser has decoded it; '' while there is none. */
  const loadedHeaderPicture = (page: Page) =>
    headerAvatar(page)
      .locator('img')
      .evaluateAll((images) => {
        const img = images[0] as HTMLImageElement | undefined;
        return img?.complete && img.naturalWidth > 0 ? img.getAttribute('src') : '';
      });

  it('uploads a picture in settings: the header and the profile show it, a large photo is scaled down, and it can be removed', async () => {
    const user = await registerUser(server, uniqueName('pic'));
    const page = await person(user);
    await page.goto(`${server.url}/settings`);
    await expect.poll(() => headerAvatar(page).textContent()).toBe('P');
    expect(await loadedHeaderPicture(page)).toBe('');

    await page.getByLabel('Upload picture').setInputFiles({
      name: 'me.png',
      mimeType: 'image/png',
      buffer: solidPng(200, 200, [30, 140, 250]),
    });
    await expect
      .poll(() => page.getByRole('status').filter({ hasText: 'Picture saved.' }).count())
      .toBe(1);
    const src = new RegExp(`^/api/users/${user.user.id}/avatar\\?v=[0-9a-f]{20}$`);
    await expect.poll(() => loadedHeaderPicture(page)).toMatch(src);
    const first = await loadedHeaderPicture(page);
    await shot(page, 'avatar-in-header-and-settings');

    // Stored by the server: a fresh load shows it, and so does the profile.
    await page.goto(`${server.url}/u/${user.username}`);
    await expect.poll(() => loadedHeaderPicture(page)).toBe(first);
    const profilePicture = page.getByRole('main').getByTestId('avatar').locator('img');
    await expect.poll(() => profilePicture.getAttribute('src')).toBe(first);
    await shot(page, 'avatar-on-profile');

    // A 2400×1600 photo is more than the server takes: the page scales it to 1024 px first.
    await page.goto(`${server.url}/settings`);
    await page.getByLabel('Change picture').setInputFiles({
      name: 'big.png',
      mimeType: 'image/png',
      buffer: solidPng(2400, 1600, [250, 200, 20]),
    });
    await expect.poll(() => loadedHeaderPicture(page)).not.toBe(first);
    const second = await loadedHeaderPicture(page);
    expect(second).toMatch(src);
    const stored = Buffer.from(await (await fetch(`${server.url}${second}`)).arrayBuffer());
    expect(readImageHeader(stored)).toMatchObject({ width: 1024, height: 683 });

    await page.getByRole('button', { name: 'Remove picture' }).click();
    await expect.poll(() => loadedHeaderPicture(page)).toBe('');
    expect(await headerAvatar(page).textContent()).toBe('P');
    const profile = await api(server.url)('GET', `/api/users/${user.user.id}`);
    expect(profile.body.user.avatar_url).toBeNull();
  });

  it('shows the first emoji of a display name whole as its letter avatar, never "�"', async () => {
    const names = ['🎸 Guitar nights', '👩‍👩‍👧 Family time', '🇫🇷 Paris'];
    const page = await person(undefined, { width: 390, height: 844 });
    await page.goto(`${server.url}/`);
    for (const displayName of names) {
      const res = await api(server.url)('POST', '/api/auth/register', {
        body: { username: uniqueName('emoji'), password: 'correct horse battery', displayName },
      });
      expect(res.status).toBe(201);
      await page.evaluate((token) => localStorage.setItem('onair.token', token), res.body.token);
      await page.goto(`${server.url}/`);
      const initial = [...new Intl.Segmenter().segment(displayName)][0]!.segment;
      await expect.poll(() => headerAvatar(page).textContent()).toBe(initial);
      expect(await headerAvatar(page).textContent()).not.toContain('\uFFFD');
      if (displayName.startsWith('👩')) await shot(page, 'emoji-letter-avatar-phone');
    }
  });

  it('turns a stream’s tags into links to the tag’s page: live streams first, then recent ones', async () => {
    const tag = `chill${Date.now().toString(36)}`;
    const [liveHost, pastHost] = await Promise.all([
      registerUser(server, uniqueName('livehost')),
      registerUser(server, uniqueName('pasthost')),
    ]);
    const past = await api(server.url)('POST', '/api/live/start', {
      token: pastHost.token,
      body: { title: 'Yesterday’s session', tags: [tag] },
    });
    await api(server.url)('POST', `/api/live/end/${past.body.streamId}`, {
      token: pastHost.token,
    });
    const live = await api(server.url)('POST', '/api/live/start', {
      token: liveHost.token,
      body: { title: 'Evening lo-fi', tags: ['music', tag] },
    });
    expect(live.status).toBe(201);

    const page = await person(undefined, { width: 390, height: 844 });
    await page.goto(`${server.url}/`);
    await page.getByRole('link', { name: `#${tag}` }).click();
    await page.waitForURL(`${server.url}/tags/${tag}`);
    expect(await page.getByTestId('tag-heading').textContent()).toBe(tag);
    await expect
      .poll(() => page.getByTestId('stream-card').allTextContents())
      .toEqual(['Evening lo-fi']);
    expect(await page.getByTestId('tag-recent-stream').allTextContents()).toEqual([
      expect.stringContaining('Yesterday’s session'),
    ]);
    await shot(page, 'tag-page-phone');

    // The stream page's tags are links too.
    await page.getByTestId('stream-card').click();
    await page.waitForURL(`${server.url}/live/${live.body.streamId}`);
    await page.getByRole('list', { name: 'Tags' }).getByRole('link', { name: '#music' }).click();
    await page.waitForURL(`${server.url}/tags/music`);
    await expect
      .poll(() => page.getByTestId('stream-card').allTextContents())
      .toContain('Evening lo-fi');
  });
});
