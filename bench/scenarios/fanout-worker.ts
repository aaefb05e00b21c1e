/**
 * A load-generator process for the fan-out scenario: one receive-only WHEP viewer per token
 * given, all of one type (node-datachannel or werift), that join and then count packets per SSRC
 * until told to close. Loss is read from each viewer's own sequence numbers, which the server
 * keeps continuous.
 */
import { serveParent } from '../lib/ipc';
import { viewerFactory } from '../lib/viewers';
import type { CountingViewer, ViewerType, WhepTarget } from '../lib/viewers/types';

const [baseUrl, streamId, tokensJson, type] = process.argv.slice(2) as [
  string,
  string,
  string,
  ViewerType,
];
/** One viewer per token (a user each). */
const tokens = JSON.parse(tokensJson) as string[];
const count = tokens.length;
/** Every viewer stays referenced from here for the life of the process. */
const viewers: CountingViewer[] = [];
let failed = 0;
let retried = 0;
const errors: string[] = [];

/** Joins one viewer; a session that fails to set up is closed (and DELETEd) and tried once more. */
async function joinOne(
  create: (target: WhepTarget) => CountingViewer,
  token: string,
): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const viewer = create({ baseUrl, streamId, token });
    // Referenced even when it failed: its native callbacks may still fire while it closes.
    viewers.push(viewer);
    try {
      await viewer.join();
      return;
    } catch (error) {
      if (errors.length < 5) errors.push(String(error));
      await viewer.close(true).catch(() => undefined);
      if (attempt === 0) retried += 1;
    }
  }
  failed += 1;
}

async function main(): Promise<void> {
  const create = await viewerFactory(type);
  const parallel = type === 'node-datachannel' ? 10 : 5;
  for (let i = 0; i < count; i += parallel)
    await Promise.all(tokens.slice(i, i + parallel).map((token) => joinOne(create, token)));
  process.send!({ type: 'ready', connected: count - failed, failed, retried, errors });
}

serveParent({
  reset: () => {
    for (const v of viewers) v.take();
    return { type: 'reset-done' };
  },
  take: () => {
    let received = 0;
    let expected = 0;
    for (const v of viewers) {
      const t = v.take();
      received += t.received;
      expected += t.expected;
    }
    return { type: 'counts', received, expected };
  },
  close: async () => {
    await Promise.all(viewers.map((v) => v.close().catch(() => undefined)));
    // node-datachannel's cleanup() can crash at exit; leave without it.
    process.exit(0);
  },
});

main().catch((error: unknown) => {
  process.send!({ type: 'error', message: String(error) });
  process.exit(1);
});
