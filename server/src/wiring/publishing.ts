import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { NodeInfo, NodeRegistry } from '../cluster/node-registry';
import type { ClaimOptions, PublisherClaims } from '../live/publisher-claims';
import type { MediaWorkerPool } from '../media/MediaWorkerPool';
import type { RecordingPlan } from '../recordings/reports';
import { mediaCall } from './media-errors';

/**
 * A node without a heartbeat this long is gone for certain (the registry says so after 7 s):
 * streams it still answers for are adopted by the periodic check, should its departure be missed.
 */
const unattendedSeconds = 15;

/** How the nodes of one deployment tell each other that a publishing session was taken over. */
export interface PublisherBus {
  announceReplaced(streamId: string, sessionId: string): void;
  /** Listens for other nodes' announcements; returns what stops listening. */
  onReplaced(listener: (streamId: string, sessionId: string) => void): () => void;
}

export interface Publishing {
  /**
   * Publishes `offer` into a live stream, WHIP's way or the web app's: claims the stream first,
   * closing a quiet publisher or one on a node that is gone, wherever it is; `conflict` while
   * another publisher holds it.
   */
  publish(
    streamId: string,
    offer: string,
    options?: ClaimOptions,
  ): Promise<{ sessionId: string; answer: string }>;
  /** Checks this node's publishers and claims against the database (also done every `sweepMs`). */
  reconcile(): Promise<void>;
  close(): void;
}

/**
 * Ties the media's publishing sessions to their claims on the streams (`PublisherClaims`): a
 * session is claimed before it is negotiated, marked while quiet, and released when it ends; a
 * stream that lost its publisher is handed to `onPublisherLost` (the lifecycle's grace period),
 * unless a new publisher took it over. The publisher taken over is closed where it is: here at
 * once, on another node by an announcement on the bus and, should that be missed, by that node's
 * own check against the database every `sweepMs`.
 */
export function connectPublishing(deps: {
  media: MediaWorkerPool;
  /** Where (and whether) the stream's recording is kept, given to the worker taking its publisher. */
  recordingPlan: (streamId: string) => Promise<RecordingPlan | undefined>;
  claims: PublisherClaims;
  nodeId: string;
  /** The deployment's live nodes: the streams of a node that is gone are adopted here. */
  registry?: Pick<NodeRegistry, 'isAlive' | 'on' | 'off'> | undefined;
  bus?: PublisherBus | undefined;
  /** A stream's publisher ended and nobody took its place. */
  onPublisherLost: (streamId: string) => void;
  /** How often this node's publishers are checked against the database. Default 5 s. */
  sweepMs?: number;
  logger: Logger;
}): Publishing {
  const {
    media,
    recordingPlan,
    claims,
    nodeId,
    registry,
    bus,
    onPublisherLost,
    sweepMs = 5000,
    logger,
  } = deps;
  /** Sessions claimed here whose media does not exist yet. */
  const negotiating = new Set<string>();
  /** Sessions closed because another publisher took their stream: no loss to wait for. */
  const replaced = new Set<string>();
  /** Per session, its claim updates in the order they were reported. */
  const updates = new Map<string, Promise<void>>();

  const inOrder = (sessionId: string, update: () => Promise<unknown>) => {
    const next = (updates.get(sessionId) ?? Promise.resolve()).then(update).then(
      () => undefined,
      (err: unknown) => logger.warn({ err, sessionId }, 'could not record a publisher change'),
    );
    updates.set(sessionId, next);
    void next.then(() => {
      if (updates.get(sessionId) === next) updates.delete(sessionId);
    });
  };

  const closeReplaced = (sessionId: string) => {
    replaced.add(sessionId);
    // Forgotten in time even if its close is never reported (the session was already gone).
    setTimeout(() => replaced.delete(sessionId), 60_000).unref();
    media.closeSession(sessionId);
  };

  const publish: Publishing['publish'] = async (streamId, offer, options) => {
    const sessionId = randomUUID();
    negotiating.add(sessionId);
    try {
      const previous = await claims.claim(streamId, sessionId, options);
      if (previous) {
        logger.info({ streamId, from: previous.node }, 'publisher taken over');
        if (previous.node === nodeId) closeReplaced(previous.sessionId);
        else bus?.announceReplaced(streamId, previous.sessionId);
      }
      try {
        const recording = await recordingPlan(streamId);
        return await mediaCall(() => media.publish(streamId, offer, sessionId, recording));
      } catch (error) {
        inOrder(sessionId, async () => {
          // The stream lost the publisher it had for one that could not start: wait for another.
          if ((await claims.release(streamId, sessionId)) && previous) onPublisherLost(streamId);
        });
        throw error;
      }
    } finally {
      negotiating.delete(sessionId);
    }
  };

  const onQuiet = (streamId: string, sessionId: string) =>
    inOrder(sessionId, () => claims.setQuiet(streamId, sessionId, true));
  const onSending = (streamId: string, sessionId: string) =>
    inOrder(sessionId, () => claims.setQuiet(streamId, sessionId, false));
  const onLost = (streamId: string, sessionId: string) => {
    if (replaced.delete(sessionId)) return;
    inOrder(sessionId, async () => {
      // Only a publisher still holding its stream leaves it without one: one that another has
      // just taken over (its node not yet told) does not, and its viewers are not told to wait.
      // Should the database not answer, the check every `sweepMs` releases it later.
      if (await claims.release(streamId, sessionId)) onPublisherLost(streamId);
    });
  };
  const onRemoteReplaced = (streamId: string, sessionId: string) => {
    const held = media.sessionInfo(sessionId);
    if (held?.role !== 'publish' || held.streamId !== streamId) return;
    logger.info({ streamId }, 'publisher taken over on another node');
    closeReplaced(sessionId);
  };

  const reconcile = async () => {
    const held = media.publisherSessions();
    for (const sessionId of await claims.superseded(held)) {
      if (negotiating.has(sessionId) || !media.sessionInfo(sessionId)) continue;
      logger.info({ sessionId }, 'closing a publisher whose stream was taken over');
      closeReplaced(sessionId);
    }
    const mine = [...held.map((h) => h.sessionId), ...negotiating];
    for (const streamId of await claims.releaseUnheld(mine)) onPublisherLost(streamId);
    if (registry) adopted(await claims.adoptUnattended(unattendedSeconds));
  };

  const adopted = (streamIds: string[]) => {
    for (const streamId of streamIds) {
      logger.warn({ streamId }, 'stream of a node that is gone: waiting for its publisher here');
      onPublisherLost(streamId);
    }
  };
  const onNodeGone = (node: NodeInfo) => {
    // A node restarted under the same id is alive again and answers for its streams itself.
    if (registry?.isAlive(node.nodeId)) return;
    claims
      .adoptStreamsOf(node.nodeId)
      .then(adopted, (err: unknown) =>
        logger.warn({ err, nodeId: node.nodeId }, 'could not adopt the streams of a node gone'),
      );
  };
  const sweep = setInterval(() => {
    reconcile().catch((err: unknown) =>
      logger.warn({ err }, 'could not check publishers against the database'),
    );
  }, sweepMs);
  sweep.unref();

  media.on('publisher_quiet', onQuiet);
  media.on('publisher_sending', onSending);
  media.on('publisher_lost', onLost);
  const stopBus = bus?.onReplaced(onRemoteReplaced);
  registry?.on('node_gone', onNodeGone);

  return {
    publish,
    reconcile,
    close() {
      clearInterval(sweep);
      stopBus?.();
      registry?.off('node_gone', onNodeGone);
      media.off('publisher_quiet', onQuiet);
      media.off('publisher_sending', onSending);
      media.off('publisher_lost', onLost);
    },
  };
}
