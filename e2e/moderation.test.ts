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
const artifacts = path.join(root, 'test-artifacts', 'moderation');
const phone = { width: 390, height: 844 };

/** How far the page is wider than the window (0 when it fits). */
const overflow = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

describe('moderation in the web app: a moderator deletes a message and bans its author', () => {
  let server: TestServer;
  const browsers: BrowserSession[] = [];
  const shot = (page: Page, name: string) =>
    page.screenshot({ path: path.join(artifacts, `${name}.png`) });

  beforeAll(async () => {
    await mkdir(artifacts, { recursive: true });
    server = await startTestServer({
      // A stream started over the API has no publisher: it stays live through the test.
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

  const say = async (page: Page, text: string) => {
    await page.getByLabel('Message', { exact: true }).fill(text);
    await page.getByLabel('Message', { exact: true }).press('Enter');
  };
  const messages = (page: Page, text: string) =>
    page.getByTestId('chat-message').filter({ hasText: text });

  it('lets the host appoint a moderator who deletes a viewer’s message and bans them', async () => {
    const hostUser = await registerUser(server, uniqueName('host'));
    const modUser = await registerUser(server, uniqueName('mod'));
    const viewerUser = await registerUser(server, uniqueName('viewer'));
    const [host, mod, viewer] = await Promise.all([
      person(hostUser),
      person(modUser),
      person(viewerUser, phone),
    ]);

    await host.goto(`${server.url}/`);
    await host.getByLabel('Title').fill('Moderated hour');
    await host.getByRole('button', { name: 'Go Live' }).click();
    await host.waitForURL(/\/live\/[0-9a-f-]{36}$/);
    await expect
      .poll(() => host.getByTestId('broadcast-status').textContent(), { timeout: 15_000 })
      .toBe('LIVE');
    const streamId = host.url().split('/').pop()!;

    await Promise.all([mod, viewer].map((page) => page.goto(`${server.url}/live/${streamId}`)));
    await expect.poll(() => framesDecoded(viewer), { timeout: 15_000 }).toBeGreaterThan(0);
    // Not a moderator yet: no tab, no actions.
    await say(viewer, 'first from the viewer');
    await expect.poll(() => messages(mod, 'first from the viewer').count()).toBe(1);
    expect(await mod.getByRole('tab', { name: 'Moderation' }).count()).toBe(0);
    expect(await mod.getByTestId('message-actions').count()).toBe(0);

    // The host appoints the moderator by username from the Moderation tab.
    await host.getByRole('tab', { name: 'Moderation' }).click();
    await host.getByLabel('Username of a new moderator').fill(modUser.username);
    await host.getByRole('button', { name: 'Add moderator' }).click();
    await expect
      .poll(() => host.getByTestId('moderator').filter({ hasText: modUser.username }).count())
      .toBe(1);
    await expect
      .poll(() => host.getByTestId('moderation-log').textContent())
      .toContain(`made @${modUser.username} a moderator`);
    await shot(host, '01-host-moderation-panel');

    // The moderator's page learns of the new role without a reload.
    await expect.poll(() => mod.getByRole('tab', { name: 'Moderation' }).count()).toBe(1);
    await say(mod, 'Be nice, everyone');
    const fromMod = messages(viewer, 'Be nice, everyone');
    await expect.poll(() => fromMod.getByTestId('mod-badge').count()).toBe(1);
    // The host's own messages carry the Host badge; the moderator may not act on them.
    await host.getByRole('tab', { name: 'Chat' }).click();
    await say(host, 'Welcome in');
    await expect.poll(() => messages(mod, 'Welcome in').getByTestId('host-badge').count()).toBe(1);
    expect(await messages(mod, 'Welcome in').getByTestId('message-actions').count()).toBe(0);
    expect(await messages(mod, 'Be nice, everyone').getByTestId('message-actions').count()).toBe(0);

    // Delete: the message leaves every page.
    await say(viewer, 'buy cheap followers');
    for (const page of [host, mod])
      await expect.poll(() => messages(page, 'buy cheap followers').count()).toBe(1);
    await mod
      .getByRole('button', { name: `Moderate @${viewerUser.username}’s message` })
      .last()
      .click();
    await shot(mod, '02-mod-message-actions');
    await mod.getByRole('button', { name: 'Delete message' }).click();
    for (const page of [viewer, host, mod])
      await expect.poll(() => messages(page, 'buy cheap followers').count()).toBe(0);
    expect(await messages(viewer, 'first from the viewer').count()).toBe(1);
    const history = await api(server.url)<{ comments: { comment: string }[] }>(
      'GET',
      `/api/live/${streamId}/comments`,
      { token: viewerUser.token },
    );
    expect(history.body.comments.map((c) => c.comment)).not.toContain('buy cheap followers');

    // Ban: the viewer's chat and video stop, and the server refuses them from now on.
    await mod
      .getByRole('button', { name: `Moderate @${viewerUser.username}’s message` })
      .first()
      .click();
    await mod.getByRole('button', { name: `Ban @${viewerUser.username}` }).click();
    await shot(mod, '03-mod-confirm-ban');
    await mod.getByRole('dialog').getByRole('button', { name: 'Ban' }).click();
    await expect
      .poll(() => viewer.getByTestId('chat-banned').textContent(), { timeout: 10_000 })
      .toContain('banned from this channel');
    expect(await viewer.getByLabel('Message', { exact: true }).count()).toBe(0);
    await expect
      .poll(() => viewer.getByTestId('viewer-status').textContent())
      .toContain('banned from this channel');
    await expect.poll(() => framesDecoded(viewer)).toBe(0);
    expect(await overflow(viewer)).toBeLessThanOrEqual(0);
    await shot(viewer, '04-viewer-banned-phone');

    const refused = await api(server.url)<{ error: { code: string } }>(
      'POST',
      `/api/live/${streamId}/comment`,
      { token: viewerUser.token, body: { comment: 'let me back' } },
    );
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('banned');

    // The host sees the ban and both actions in the panel, newest first.
    await host.getByRole('tab', { name: 'Moderation' }).click();
    await expect
      .poll(() => host.getByTestId('ban').filter({ hasText: viewerUser.username }).count())
      .toBe(1);
    const log = (await host.getByTestId('moderation-log').textContent()) ?? '';
    expect(log.indexOf(`banned @${viewerUser.username}`)).toBeGreaterThanOrEqual(0);
    expect(log.indexOf(`banned @${viewerUser.username}`)).toBeLessThan(
      log.indexOf(`deleted a message by @${viewerUser.username}`),
    );
    await shot(host, '05-host-panel-after-ban');
  }, 180_000);

  it('tells a viewer on a phone about blocked words, slow mode and a timeout', async () => {
    const hostUser = await registerUser(server, uniqueName('host'));
    const viewerUser = await registerUser(server, uniqueName('viewer'));
    const request = api(server.url);
    const started = await request<{ streamId: string }>('POST', '/api/live/start', {
      token: hostUser.token,
      body: { title: 'Rules of the room' },
    });
    expect(started.status).toBe(201);
    const streamId = started.body.streamId;
    const moderate = async (action: object) => {
      const res = await request('POST', `/api/live/${streamId}/moderation`, {
        token: hostUser.token,
        body: action,
      });
      expect(res.status).toBe(200);
    };
    await moderate({ action: 'blocked_words', words: ['spoiler'] });

    const viewer = await person(viewerUser, phone);
    await viewer.goto(`${server.url}/live/${streamId}`);
    const input = viewer.getByLabel('Message', { exact: true });
    await say(viewer, 'Big Spoiler ahead');
    await expect
      .poll(() => viewer.getByRole('alert').filter({ hasText: 'does not allow' }).count())
      .toBe(1);
    // The refused message stays in the box to be changed.
    expect(await input.inputValue()).toBe('Big Spoiler ahead');
    expect(await messages(viewer, 'Big Spoiler ahead').count()).toBe(0);
    await shot(viewer, '06-viewer-blocked-word-phone');

    // Slow mode reaches the open page; a send too soon is refused and counted down.
    await moderate({ action: 'slow_mode', seconds: 30 });
    await expect
      .poll(() => viewer.getByTestId('slow-mode').textContent())
      .toContain('one message every 30 s');
    const sentElsewhere = await request('POST', `/api/live/${streamId}/comment`, {
      token: viewerUser.token,
      body: { comment: 'from another tab' },
    });
    expect(sentElsewhere.status).toBe(201);
    await say(viewer, 'too soon');
    await expect
      .poll(() => viewer.getByTestId('slow-mode').textContent())
      .toMatch(/you can send again in \d+ s/);
    expect(
      await viewer.getByRole('button', { name: /Send message \(wait \d+ s\)/ }).isDisabled(),
    ).toBe(true);
    expect(await input.inputValue()).toBe('too soon');
    expect(await overflow(viewer)).toBeLessThanOrEqual(0);
    await shot(viewer, '07-viewer-slow-mode-phone');

    // A timeout: told for how long, and the box is closed until then.
    await moderate({ action: 'timeout', userId: viewerUser.user.id, seconds: 600 });
    await expect
      .poll(() => viewer.getByTestId('chat-timed-out').textContent())
      .toBe('You are timed out for 10 more minutes.');
    expect(await input.isDisabled()).toBe(true);
    await shot(viewer, '08-viewer-timed-out-phone');
    await request('POST', `/api/live/end/${streamId}`, { token: hostUser.token });
  }, 90_000);
});
