import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  registerUser,
  startTestServer,
  uniqueName,
  type TestServer,
  type TestUser,
} from '../server/test/support/server';
import { launchChromium, type BrowserSession } from './support/chromium';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const webDir = path.join(root, 'web/dist');

/** A name that is not loopback to the page, resolved to the test server by Chromium alone. */
const publicName = 'onair.test';

describe('the settings page: saving the profile, and the OBS steps', () => {
  let server: TestServer;
  let withPublicUrl: TestServer;
  const browsers: BrowserSession[] = [];

  beforeAll(async () => {
    [server, withPublicUrl] = await Promise.all([
      startTestServer({ env: { WEB_DIR: webDir } }),
      startTestServer({ env: { WEB_DIR: webDir, PUBLIC_URL: 'https://live.example.com' } }),
    ]);
  });
  afterAll(async () => {
    for (const b of browsers) await b.close();
    await Promise.all([server?.stop(), withPublicUrl?.stop()]);
  });

  const signedIn = async (user: TestUser) => {
    const browser = await launchChromium({
      extraArgs: [`--host-resolver-rules=MAP ${publicName} 127.0.0.1`],
    });
    browsers.push(browser);
    await browser.context.addInitScript((token) => {
      localStorage.setItem('onair.token', token);
    }, user.token);
    return browser.context.newPage();
  };

  it('saves the profile and keeps the app (PATCH /api/me answers the user itself)', async () => {
    const user = await registerUser(server, uniqueName('saver'));
    const page = await signedIn(user);
    await page.goto(`${server.url}/settings`);
    const form = page.getByRole('form', { name: 'Profile' });
    await form.getByLabel('Display name').fill('Ada Saves');
    await form.getByLabel('Bio').fill('Synths at night.');
    await form.getByRole('button', { name: 'Save profile' }).click();
    await expect.poll(() => form.getByRole('status').textContent()).toBe('Saved.');
    // The app is still there, with the saved values in the form.
    expect(await form.getByText(`@${user.user.username}`, { exact: true }).isVisible()).toBe(true);
    expect(await form.getByLabel('Display name').inputValue()).toBe('Ada Saves');
    // The header follows without a reload.
    await expect
      .poll(() => page.getByRole('banner').getByText('Ada Saves', { exact: true }).count())
      .toBe(1);
    await page.reload();
    await expect.poll(() => form.getByLabel('Display name').inputValue()).toBe('Ada Saves');
    expect(await form.getByLabel('Bio').inputValue()).toBe('Synths at night.');
  });

  it('says OBS 30 or later and where the keyframe interval is set', async () => {
    const page = await signedIn(await registerUser(server, uniqueName('obssteps')));
    await page.goto(`${server.url}/settings`);
    const steps = page.getByRole('list').filter({ hasText: 'Start Streaming' });
    await expect.poll(() => steps.textContent()).toContain('OBS Studio 30 or later');
    const text = (await steps.textContent()) ?? '';
    expect(text).toContain('Settings → Output');
    expect(text).toMatch(/Output Mode.*Advanced.*Streaming.*Keyframe Interval.*1 s or 2 s/);
  });

  it('shows the WHIP URL on the page’s origin when the server only knows a loopback address', async () => {
    // Without PUBLIC_URL the server answers with the address it listens on.
    expect(new URL(server.url).hostname).toBe('127.0.0.1');
    const user = await registerUser(server, uniqueName('obsurl'));
    const page = await signedIn(user);
    const origin = `http://${publicName}:${server.port}`;
    await page.goto(`${origin}/settings`);
    const whipUrl = page.getByTestId('whip-url');
    await expect.poll(() => whipUrl.textContent()).toBe(`${origin}/api/live/whip`);

    // On loopback itself (OBS on the same machine) the server's own URL is right.
    await page.goto(`${server.url}/settings`);
    await expect.poll(() => whipUrl.textContent()).toBe(`${server.url}/api/live/whip`);
  });

  it('shows PUBLIC_URL’s WHIP URL when it is set, wherever the page is', async () => {
    const user = await registerUser(withPublicUrl, uniqueName('obspub'));
    const page = await signedIn(user);
    for (const origin of [`http://${publicName}:${withPublicUrl.port}`, withPublicUrl.url]) {
      await page.goto(`${origin}/settings`);
      await expect
        .poll(() => page.getByTestId('whip-url').textContent())
        .toBe('https://live.example.com/api/live/whip');
    }
  });
});
