/**
 * A load-generator process for the session-churn scenario: on each `run` message it opens and
 * closes `sessions` WHEP viewer sessions, one per token at a time. Each session is a
 * node-datachannel viewer that connects, then DELETEs its WHEP resource and closes.
 */
import { serveParent } from '../lib/ipc';
import { NodeDataChannelViewer } from '../lib/viewers/node-datachannel';

const [baseUrl, streamId, tokensJson] = process.argv.slice(2) as [string, string, string];
/** One lane per token (a user each), each lane holding one session at a time. */
const tokens = JSON.parse(tokensJson) as string[];
/** Viewers stay referenced while they live (their callbacks die with the JS wrapper). */
const live = new Set<NodeDataChannelViewer>();

async function session(token: string): Promise<void> {
  const viewer = new NodeDataChannelViewer({ baseUrl, streamId, token });
  live.add(viewer);
  try {
    try {
      await viewer.join();
    } catch (error) {
      // A failed session is still ended on the server if it got that far.
      await viewer.close(true).catch(() => undefined);
      throw error;
    }
    await viewer.close(true);
  } finally {
    live.delete(viewer);
  }
}

serveParent({
  run: async (m) => {
    let next = 0;
    let ok = 0;
    const errors: string[] = [];
    const total = Number(m.sessions);
    const started = performance.now();
    await Promise.all(
      tokens.map(async (token) => {
        while (next < total) {
          next += 1;
          try {
            await session(token);
            ok += 1;
          } catch (error) {
            errors.push(String(error));
          }
        }
      }),
    );
    return {
      type: 'ran',
      ok,
      failed: errors.length,
      errors: errors.slice(0, 5),
      seconds: (performance.now() - started) / 1000,
    };
  },
  close: () => {
    // node-datachannel's cleanup() can crash at exit; leave without it.
    process.exit(0);
  },
});

process.send!({ type: 'ready' });
