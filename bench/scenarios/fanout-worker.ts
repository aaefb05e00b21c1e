/**
 * A load-generator process for the fan-out scenario: one receive-only WHEP viewer per token
 * given, all of one type (node-datachannel or werift), that join and then count packets per SSRC
 * until told to close. Loss is read from each viewer's own sequence numbers, which the server
 * keeps continuous. An optional list of qualities (one per token) is asked for on the WHEP URL,
 * and the counts are then also given per quality.
 */
import type { QualityChoice } from '@onair/protocol';
import { serveParent } from '../lib/ipc';
import { viewerFactory } from '../lib/viewers';
import type { CountingViewer, QualityCounts, ViewerType, WhepTarget } from '../lib/viewers/types';

const [baseUrl, streamId, tokensJson, type, qualitiesJson] = process.argv.slice(2) as [
  string,
  string,
  string,
  ViewerType,
  string | undefined,
];
/** One viewer per token (a user each). */
const tokens = JSON.parse(tokensJson) as string[];
/** The quality each token's viewer asks for, when given. */
const qualities = qualitiesJson ? (JSON.parse(qualitiesJson) as QualityChoice[]) : undefined;
const count = tokens.length;
/**
 * Every viewer stays referenced from here for the life of the process, with what it asked for
 * and whether it joined (a failed attempt is closed and counts for nothing).
 */
const viewers: { viewer: CountingViewer; quality: QualityChoice | undefined; joined: boolean }[] =
  [];
let failed = 0;
let retried = 0;
const errors: string[] = [];

/** Joins one viewer; a session that fails to set up is closed (and DELETEd) and tried once more. */
async function joinOne(
  create: (target: WhepTarget) => CountingViewer,
  token: string,
  quality: QualityChoice | undefined,
): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const viewer = create({ baseUrl, streamId, token, ...(quality ? { quality } : {}) });
    // Referenced even when it failed: its native callbacks may still fire while it closes.
    const entry = { viewer, quality, joined: false };
    viewers.push(entry);
    try {
      await viewer.join();
      entry.joined = true;
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
    await Promise.all(
      tokens.slice(i, i + parallel).map((token, j) => joinOne(create, token, qualities?.[i + j])),
    );
  process.send!({ type: 'ready', connected: count - failed, failed, retried, errors });
}

serveParent({
  reset: () => {
    for (const v of viewers) v.viewer.take();
    return { type: 'reset-done' };
  },
  take: () => {
    let received = 0;
    let expected = 0;
    const byQuality: Record<string, QualityCounts> = {};
    for (const { viewer, quality, joined } of viewers) {
      const t = viewer.take();
      received += t.received;
      expected += t.expected;
      if (!joined) continue;
      const q = (byQuality[quality ?? 'default'] ??= {
        viewers: 0,
        received: 0,
        expected: 0,
        silent: 0,
      });
      q.viewers += 1;
      q.received += t.received;
      q.expected += t.expected;
      if (t.streams < 2) q.silent += 1;
    }
    return { type: 'counts', received, expected, byQuality };
  },
  close: async () => {
    await Promise.all(viewers.map((v) => v.viewer.close().catch(() => undefined)));
    // node-datachannel's cleanup() can crash at exit; leave without it.
    process.exit(0);
  },
});

main().catch((error: unknown) => {
  process.send!({ type: 'error', message: String(error) });
  process.exit(1);
});
