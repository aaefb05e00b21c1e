import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags for headless Chromium on a closed network, with a fake camera and microphone. */
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  // The server's media candidates are on 127.0.0.1 in tests: without this Chromium gathers no
  // loopback candidate and reaches them only from its other interfaces, which sometimes fails.
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
  // Several pages of one browser play the parts of several people: none may be throttled as a
  // background tab (a hidden publisher tab otherwise stops sending frames).
  '--disable-background-timer-throttling',
  '--disable-backgrounding-occluded-windows',
  '--disable-renderer-backgrounding',
];

export interface BrowserSession {
  context: BrowserContext;
  close(): Promise<void>;
}

export interface LaunchOptions {
  viewport?: { width: number; height: number };
  extraArgs?: string[];
  /**
   * Ignore the server's Content Security Policy. Only for harness pages that inject their own
   * scripts into a document of our origin, which the policy rightly refuses; never for the
   * web app, whose suite proves the policy lets it work. Default false.
   */
  bypassCSP?: boolean;
  /** A phone: touch and a coarse pointer, as an upright phone's browser reports them. */
  mobile?: boolean;
  /**
   * What to start instead of `chromiumPath`: a wrapper that runs it somewhere else (inside a
   * network namespace, e2e/support/netns.ts), given Chromium's arguments.
   */
  executablePath?: string;
}

/**
 * A fresh Chromium with its own profile directory (playwright-core refuses `--user-data-dir` in
 * args, so the persistent context is how a fresh profile is given).
 */
export async function launchChromium(options: LaunchOptions = {}): Promise<BrowserSession> {
  const userDataDir = await mkdtemp(path.join(os.tmpdir(), 'onair-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: options.executablePath ?? chromiumPath,
    headless: true,
    args: [...chromiumArgs, ...(options.extraArgs ?? [])],
    viewport: options.viewport ?? { width: 1280, height: 800 },
    permissions: ['camera', 'microphone'],
    bypassCSP: options.bypassCSP ?? false,
    ...(options.mobile ? { isMobile: true, hasTouch: true } : {}),
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A page of a fresh Chromium (added to `browsers`, for the suite to close), signed in as the
 * holder of `token` when one is given: the token is stored before the app's first load and left
 * alone afterwards, so a sign-out in the test stays signed out across reloads.
 */
export async function signedInPage(
  browsers: BrowserSession[],
  token: string | undefined,
  options: LaunchOptions = {},
): Promise<Page> {
  const browser = await launchChromium(options);
  browsers.push(browser);
  if (token)
    await browser.context.addInitScript((stored) => {
      // Runs in the page; this module is also compiled without the DOM's types (scripts/).
      const { localStorage: storage } = globalThis as unknown as {
        localStorage: {
          getItem(key: string): string | null;
          setItem(key: string, value: string): void;
        };
      };
      if (!storage.getItem('onair.token')) storage.setItem('onair.token', stored);
    }, token);
  return browser.context.newPage();
}
