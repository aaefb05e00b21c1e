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
const artifacts = path.join(root, 'test-artifacts', 'moderation-removes-messages');

// Issue 18, point 8: a ban takes the offender's earlier messages off every viewer's screen, and
// focus on the moderator's page goes to the next message rather than to nothing (point 11).
describe('a ban removes the offender’s messages from every screen', () => {
  let server: TestServer;
  const browsers: BrowserSession[] = [];

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

  const person = async (user: TestUser) => {
    return signedInPage(browsers, user.token, { viewport: { width: 1280, height: 800 } });
  };
  const texts = (page: Page) => page.getByTestId('chat-message').locator('p').allTextContents();

  it('takes them off the moderator’s and another viewer’s chat, keeps them in the log, and moves focus on', async () => {
    const [hostUser, modUser, offender, bystanderUser] = await Promise.all(
      ['host', 'mod', 'offender', 'bystander'].map((n) => registerUser(server, uniqueName(n))),
    );
    const request = api(server.url);
    const started = await request<{ streamId: string }>('POST', '/api/live/start', {
      token: hostUser!.token,
      body: { title: 'Clean chat' },
    });
    const streamId = started.body.streamId;
    expect(
      (
        await request('POST', `/api/live/${streamId}/moderation`, {
          token: hostUser!.token,
          body: { action: 'add_moderator', userId: modUser!.user.id },
        })
      ).status,
    ).toBe(200);

    const [mod, bystander] = await Promise.all([person(modUser!), person(bystanderUser!)]);
    await Promise.all([mod, bystander].map((p) => p.goto(`${server.url}/live/${streamId}`)));
    await expect.poll(() => mod.getByRole('tab', { name: 'Moderation' }).count()).toBe(1);
    // Both pages are in the room before anyone speaks: what follows arrives live.
    await expect
      .poll(() => bystander.getByLabel('Message', { exact: true }).isEnabled())
      .toBe(true);

    const script: [TestUser, string][] = [
      [hostUser!, 'welcome'],
      [offender!, 'spam one'],
      [bystanderUser!, 'hello there'],
      [offender!, 'spam two'],
      [hostUser!, 'last word'],
    ];
    for (const [user, comment] of script) {
      const res = await request('POST', `/api/live/${streamId}/comment`, {
        token: user.token,
        body: { comment },
      });
      expect(res.status).toBe(201);
    }
    const all = script.map(([, text]) => text);
    for (const page of [mod, bystander]) await expect.poll(() => texts(page)).toEqual(all);

    // The moderator bans the offender from their first message, by keyboard.
    await mod
      .getByTestId('chat-message')
      .filter({ hasText: 'spam one' })
      .getByTestId('message-actions')
      .click();
    await mod.getByRole('button', { name: `Ban @${offender!.username}` }).press('Enter');
    await mod.getByRole('dialog').getByRole('button', { name: 'Ban' }).press('Enter');

    const kept = ['welcome', 'hello there', 'last word'];
    for (const page of [bystander, mod]) await expect.poll(() => texts(page)).toEqual(kept);
    await bystander.screenshot({ path: path.join(artifacts, '01-bystander-after-ban.png') });

    // Focus is on the next message that stayed, not lost to the page.
    await expect
      .poll(() =>
        mod.evaluate(
          () =>
            document.activeElement?.closest('[data-testid="chat-message"]')?.querySelector('p')
              ?.textContent,
        ),
      )
      .toBe('hello there');

    // A fresh page reads the history without them.
    await bystander.reload();
    await expect.poll(() => texts(bystander)).toEqual(kept);

    // The moderation log still shows what was said.
    await mod.getByRole('tab', { name: 'Moderation' }).click();
    const removed = mod.getByTestId('removed-messages');
    await expect
      .poll(() => removed.locator('summary').textContent())
      .toBe('2 messages removed from chat');
    await removed.locator('summary').click();
    expect(await removed.locator('li').allTextContents()).toEqual(['spam one', 'spam two']);
    await mod.screenshot({ path: path.join(artifacts, '02-mod-log-removed-messages.png') });
  }, 120_000);
});
