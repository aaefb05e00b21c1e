import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';

const require = createRequire(import.meta.url);
const helpers = path.join(path.dirname(fileURLToPath(import.meta.url)), 'rtc-helpers.js');
const socketIoBundle = path.join(
  path.dirname(require.resolve('socket.io-client/package.json')),
  'dist/socket.io.min.js',
);

/**
 * Opens a page on the server's origin (a secure context for getUserMedia) with the
 * Socket.IO client loaded, and helpers for publishing and watching defined on `window`.
 */
export async function openRtcPage(page: Page, baseUrl: string): Promise<void> {
  // A document really served from the server's origin: Chromium's local-network checks block a
  // page fulfilled by the test harness from opening a WebSocket to 127.0.0.1.
  await page.goto(`${baseUrl}/api/health`);
  await page.addScriptTag({ path: socketIoBundle });
  await page.addScriptTag({ path: helpers });
}
