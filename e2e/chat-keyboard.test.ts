import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  connectSocket,
  emitAck,
  registerUser,
  startTestServer,
  uniqueName,
  type ClientSocket,
  type TestServer,
  type TestUser,
} from '../server/test/support/server';
import { signedInPage, type BrowserSession } from './support/chromium';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The focused element, described well enough to tell where Tab has got to. */
const focused = (page: Page) =>
  page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    return {
      tag: el?.tagName.toLowerCase() ?? '',
      id: el?.id ?? '',
      label: el?.getAttribute('aria-label') ?? '',
      testId: el?.dataset.testid ?? '',
      text: el?.textContent?.trim().slice(0, 60) ?? '',
    };
  });

// Issue 18, point 11: keyboard and screen-reader use of the stream page, sign-in and the chat box.
describe('chat for keyboard and screen-reader users', () => {
  let server: TestServer;
  const browsers: BrowserSession[] = [];
  const sockets: ClientSocket[] = [];

  beforeAll(async () => {
    server = await startTestServer({
      env: { WEB_DIR: path.join(root, 'web/dist'), PUBLISHER_GRACE_SECONDS: '600' },
      // Forty messages from one user in a moment: the chat budget is tested elsewhere.
      rateLimits: { comments: { points: 1000, durationSeconds: 1 } },
    });
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    for (const b of browsers) await b.close();
    await server?.stop();
  });

  const browser = async (user?: TestUser) => {
    return signedInPage(browsers, user?.token, { viewport: { width: 1280, height: 800 } });
  };
  const startStream = async (title: string) => {
    const host = await registerUser(server, uniqueName('host'));
    const res = await api(server.url)<{ streamId: string }>('POST', '/api/live/start', {
      token: host.token,
      body: { title },
    });
    expect(res.status).toBe(201);
    return { host, streamId: res.body.streamId };
  };

  it('reaches the chat box in a few Tab presses however long the chat is; arrows move along it', async () => {
    const { host, streamId } = await startStream('Busy chat');
    for (let i = 1; i <= 40; i++) {
      const res = await api(server.url)('POST', `/api/live/${streamId}/comment`, {
        token: host.token,
        body: { comment: `message ${i}` },
      });
      expect(res.status).toBe(201);
    }
    const viewer = await registerUser(server, uniqueName('viewer'));
    const page = await browser(viewer);
    await page.goto(`${server.url}/live/${streamId}`);
    await expect.poll(() => page.getByTestId('chat-message').count()).toBe(40);

    // From the video's own controls (its top bar's Leave button) to the chat box.
    await page.getByRole('button', { name: 'Leave stream' }).focus();
    const stops: string[] = [];
    for (let presses = 1; presses <= 30; presses++) {
      await page.keyboard.press('Tab');
      const at = await focused(page);
      stops.push(`${at.tag}:${at.label || at.text}`);
      if (at.id.startsWith('chat-')) break;
    }
    expect((await focused(page)).id).toMatch(/^chat-/);
    // Before: every message's author was a stop (25+ presses). Now: the host's name, Follow,
    // Share, the list (one stop), that message's author, the reactions (one stop), the box.
    expect(stops.length, stops.join(' | ')).toBeLessThanOrEqual(7);
    // The list's one stop is the newest message; its author link is the only one reachable.
    expect(stops.filter((s) => s.startsWith('li:'))).toEqual([
      expect.stringContaining('message 40'),
    ]);

    // Arrow keys, Home and End move along the messages; Tab then leaves from there.
    await page.getByTestId('chat-message').last().focus();
    await page.keyboard.press('ArrowUp');
    expect((await focused(page)).text).toContain('message 39');
    await page.keyboard.press('Home');
    expect((await focused(page)).text).toContain('message 1');
    await page.keyboard.press('End');
    expect((await focused(page)).text).toContain('message 40');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Tab');
    // Leaving and coming back lands on the message last visited.
    expect((await focused(page)).text).toContain('message 39');
  });

  it('one Back leaves the stream after signing up from its chat; focus lands on the chat box', async () => {
    const { streamId } = await startStream('Join us');
    const page = await browser();
    await page.goto(`${server.url}/`);
    await page.goto(`${server.url}/live/${streamId}`);
    await page.getByRole('link', { name: 'Sign in to chat' }).click();
    await page.waitForURL(/\/signin/);
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.waitForURL(/\/signup/);
    await page.getByLabel('Username').fill(uniqueName('newbie'));
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.waitForURL(new RegExp(`/live/${streamId}$`));
    await expect.poll(async () => (await focused(page)).id).toBe(`chat-${streamId}`);
    await page.goBack();
    await page.waitForURL(`${server.url}/`);
  });

  it('one Back leaves the stream after signing in from the header; focus lands on the heading', async () => {
    const { streamId } = await startStream('Heading first');
    const user = await registerUser(server, uniqueName('returning'));
    const page = await browser();
    await page.goto(`${server.url}/`);
    await page.goto(`${server.url}/live/${streamId}`);
    await page.getByRole('banner').getByRole('link', { name: 'Sign in' }).click();
    await page.waitForURL(/\/signin/);
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(new RegExp(`/live/${streamId}$`));
    await expect
      .poll(async () => {
        const at = await focused(page);
        return `${at.tag} ${at.text}`;
      })
      .toBe('h1 Heading first');
    await page.goBack();
    await page.waitForURL(`${server.url}/`);
  });

  it('counts characters near the limit, and keeps an overlong paste whole and unsendable', async () => {
    const { streamId } = await startStream('Long words');
    const viewer = await registerUser(server, uniqueName('writer'));
    const page = await browser(viewer);
    await page.goto(`${server.url}/live/${streamId}`);
    const box = page.getByLabel('Message', { exact: true });
    const send = page.getByRole('button', { name: 'Send message' });
    await expect.poll(() => box.isEnabled()).toBe(true);

    await box.fill('a'.repeat(399));
    expect(await page.getByTestId('chat-counter').count()).toBe(0);
    await box.press('a');
    expect(await page.getByTestId('chat-counter').textContent()).toBe('400 / 500');
    expect(await send.isEnabled()).toBe(true);

    // A paste (text inserted as the browser inserts it) of 803 characters: nothing is cut.
    await box.fill('');
    await box.focus();
    await page.keyboard.insertText('b'.repeat(803));
    expect((await box.inputValue()).length).toBe(803);
    const counter = page.getByTestId('chat-counter');
    expect(await counter.getAttribute('role')).toBe('alert');
    expect(await counter.textContent()).toContain('303 characters too long (803 / 500)');
    expect(await box.getAttribute('aria-invalid')).toBe('true');
    expect(await send.isDisabled()).toBe(true);
    await box.press('Enter');
    expect(await page.getByTestId('chat-message').count()).toBe(0);

    // Shortened to the limit, it goes.
    await box.fill('c'.repeat(500));
    expect(await counter.textContent()).toBe('500 / 500');
    await send.click();
    await expect.poll(() => page.getByTestId('chat-message').count()).toBe(1);
    expect(await box.inputValue()).toBe('');
  });

  it('keeps focus on the chat’s notice when a timeout or ban closes the box being typed in', async () => {
    const { host, streamId } = await startStream('Strict room');
    const viewer = await registerUser(server, uniqueName('typist'));
    const page = await browser(viewer);
    await page.goto(`${server.url}/live/${streamId}`);
    const box = page.getByLabel('Message', { exact: true });
    await expect.poll(() => box.isEnabled()).toBe(true);
    await box.fill('half a thought');
    await box.focus();
    const moderate = (action: object) =>
      api(server.url)('POST', `/api/live/${streamId}/moderation`, {
        token: host.token,
        body: action,
      });
    expect(
      (await moderate({ action: 'timeout', userId: viewer.user.id, seconds: 60 })).status,
    ).toBe(200);
    await expect.poll(async () => (await focused(page)).testId).toBe('chat-timed-out');
    expect((await moderate({ action: 'ban', userId: viewer.user.id })).status).toBe(200);
    await expect.poll(async () => (await focused(page)).testId).toBe('chat-banned');
  });

  it('announces the viewer count politely, at most once every 10 s, while the number follows at once', async () => {
    const { streamId } = await startStream('Counted');
    const viewer = await registerUser(server, uniqueName('counted'));
    const page = await browser(viewer);
    await page.goto(`${server.url}/live/${streamId}`);
    const count = page.getByTestId('viewer-count');
    const region = page.getByTestId('viewer-count-announcement');
    await expect.poll(() => count.textContent()).toBe('1');
    expect(await region.getAttribute('aria-live')).toBe('polite');

    const join = async () => {
      const user = await registerUser(server, uniqueName('joiner'));
      const socket = await connectSocket(server, user.token);
      sockets.push(socket);
      expect((await emitAck(socket, 'join_live', { streamId })).ok).toBe(true);
    };
    await join();
    await expect.poll(() => count.textContent()).toBe('2');
    await expect.poll(() => region.textContent()).toBe('2 watching');
    const firstTold = Date.now();

    await join();
    await expect.poll(() => count.textContent()).toBe('3');
    // The number on screen moved on; the region waits out its 10 s.
    expect(await region.textContent()).toBe('2 watching');
    await expect.poll(() => region.textContent(), { timeout: 20_000 }).toBe('3 watching');
    expect(Date.now() - firstTold).toBeGreaterThanOrEqual(9_000);
  });
});
