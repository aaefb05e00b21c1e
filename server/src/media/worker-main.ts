/**
 * A media worker: a child process of the server that owns peer connections and forwards RTP, so
 * forwarding never runs on the thread that serves the API, and every core is used. It is the
 * only kind of process that loads node-datachannel, and loads it once (the library aborts when
 * two isolates of one process load it).
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { readdirSync, readlinkSync } from 'node:fs';
import { createLogger } from '../logging/logger';
import {
  mediaEvents,
  type CloseCause,
  type MainToWorker,
  type WorkerError,
  type WorkerRequest,
  type WorkerSettings,
  type WorkerStats,
  type WorkerToMain,
} from './ipc';
import { MediaEngine } from './MediaEngine';
import { MediaError } from './MediaError';
import { publisherTotals } from './Publisher';
import { forwardingTotals } from './RtpForwarder';
import { NodeRelaySocket } from './NodeRelaySocket';
import { endpointKey, StreamRelay, relayHeaderLength, relayType } from './StreamRelay';

const settings = JSON.parse(process.env.ONAIR_MEDIA_WORKER ?? '{}') as WorkerSettings;
// The server's redaction and error serializers: no SDP, ICE or TURN credential reaches stdout.
const logger = createLogger(settings.logLevel ?? 'info', {
  service: 'onair-media',
  pid: process.pid,
});

const send = (message: WorkerToMain) => {
  if (process.connected) process.send?.(message);
};

const relaySocket = createSocket('udp4');
const nodeSocket = new NodeRelaySocket(settings.nodeRelay, (type, channel, body, from) =>
  fromNode(type, channel, body, from),
);
const relays = new Map<string, StreamRelay>();
const streamsByChannel = new Map<number, string>();

const relayOf = (streamId: string, channel: number): StreamRelay => {
  let relay = relays.get(streamId);
  if (!relay) {
    relay = new StreamRelay(relaySocket, nodeSocket, channel);
    relays.set(streamId, relay);
    streamsByChannel.set(channel, streamId);
  }
  return relay;
};

const engine = new MediaEngine(
  {
    network: settings.network,
    maxPublishBitrate: settings.maxPublishBitrate,
    connectTimeoutMs: settings.connectTimeoutMs,
    onListenerError: (err, event) => logger.error({ err, event }, 'media listener failed'),
  },
  (streamId) => relays.get(streamId),
);
/**
 * Set while the main process's close request runs: the engine reports the closes it causes
 * synchronously, so each ended session is told apart from one that ended on its own.
 */
let closingFor: CloseCause = 'own';
const closeForParent = (cause: CloseCause, close: () => void) => {
  closingFor = cause;
  try {
    close();
  } finally {
    closingFor = 'own';
  }
};
for (const event of mediaEvents)
  engine.on(event, (streamId, sessionId) =>
    send(
      event === 'publisher_lost' || event === 'subscriber_closed'
        ? { event, streamId, sessionId, cause: closingFor }
        : { event, streamId, sessionId },
    ),
  );

relaySocket.on('message', (datagram, from) => {
  if (from.address !== '127.0.0.1' || datagram.length < relayHeaderLength) return;
  const streamId = streamsByChannel.get(datagram.readUInt32BE(1));
  const router = streamId === undefined ? undefined : engine.existing(streamId);
  if (!router) return;
  toRouter(router, datagram[0] ?? -1, datagram.subarray(relayHeaderLength));
});

/** An edge node that has not renewed its pull for this long is sent nothing more. */
const edgeSilenceMs = 10_000;
/** How often an edge renews its pull; several renewals fit in the origin's patience. */
const keepAliveMs = 2000;
/** A subscription sealed longer ago than this is a replay, not a request. */
const subscribeMaxAgeMs = 30_000;

/**
 * A sealed datagram from another node's worker: media from the origin this worker pulls from,
 * or, on the origin, an edge's pull, keep-alive, keyframe request or NACK.
 */
function fromNode(type: number, channel: number, body: Buffer, from: RemoteInfo): void {
  const streamId = streamsByChannel.get(channel);
  const relay = streamId === undefined ? undefined : relays.get(streamId);
  const router = streamId === undefined ? undefined : engine.existing(streamId);
  if (!relay || !router) return;
  const key = endpointKey(from.address, from.port);
  if (type <= relayType.senderReportVideo) {
    const origin = relay.originNode;
    // Only the origin this worker pulls from feeds it (not one it has just left).
    if (!origin || origin.address !== from.address || origin.port !== from.port) return;
    toRouter(router, type, body);
    return;
  }
  // Requests of edges reach the worker holding the publisher only, never an edge (no loops).
  if (relay.fedFromNode || relay.originPort !== undefined) return;
  switch (type) {
    case relayType.subscribe: {
      if (body.length < 12 || Math.abs(Date.now() - body.readDoubleBE(4)) > subscribeMaxAgeMs)
        return;
      const edge = {
        address: from.address,
        port: from.port,
        channel: body.readUInt32BE(0),
        heardAt: Date.now(),
      };
      const known = relay.edges.has(key);
      relay.edges.set(key, edge);
      if (!known) {
        relay.primeEdge(edge, router.gopSnapshot());
        router.requestKeyframe();
      }
      return;
    }
    case relayType.unsubscribe:
      relay.edges.delete(key);
      return;
    case relayType.keyframeRequest:
      if (relay.edges.has(key)) router.requestKeyframe();
      return;
    case relayType.nack: {
      const edge = relay.edges.get(key);
      if (!edge || body.length < 3) return;
      const kind = body[0] === 0 ? 'audio' : 'video';
      for (let at = 1; at + 2 <= body.length; at += 2) {
        const packet = router.historyPacket(kind, body.readUInt16BE(at));
        if (packet) relay.sendToEdge(edge, kind, packet);
      }
      return;
    }
  }
}

/** Media relayed from another worker or node, handed to this worker's router of the stream. */
function toRouter(
  router: NonNullable<ReturnType<typeof engine.existing>>,
  type: number,
  body: Buffer,
) {
  switch (type) {
    case relayType.audio:
      router.forward('audio', body, false);
      break;
    case relayType.video:
    case relayType.videoKeyframe:
      router.forward('video', body, type === relayType.videoKeyframe);
      break;
    case relayType.senderReportAudio:
    case relayType.senderReportVideo:
      if (body.length >= 12)
        router.senderReport(type === relayType.senderReportAudio ? 'audio' : 'video', {
          ntpSeconds: body.readUInt32BE(0),
          ntpFraction: body.readUInt32BE(4),
          rtpTimestamp: body.readUInt32BE(8),
        });
      break;
    case relayType.keyframeRequest:
      router.requestKeyframe();
      break;
  }
}

// Pulls are renewed, and edges that stopped renewing are dropped.
const keepAlive = setInterval(() => {
  const now = Date.now();
  for (const relay of relays.values()) {
    relay.subscribe();
    for (const [key, edge] of relay.edges)
      if (now - edge.heardAt > edgeSilenceMs) relay.edges.delete(key);
  }
}, keepAliveMs);

function openSockets(): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) count += 1;
    } catch {
      // closed while we looked
    }
  }
  return count;
}

function stats(): WorkerStats {
  const memory = process.memoryUsage();
  let nodeRelayPulls = 0;
  let nodeRelayEdges = 0;
  for (const relay of relays.values()) {
    if (relay.fedFromNode) nodeRelayPulls += 1;
    nodeRelayEdges += relay.edges.size;
  }
  return {
    ...engine.stats(),
    forwardedPackets: forwardingTotals.packets,
    forwardedBytes: forwardingTotals.bytes,
    nacksAnswered: forwardingTotals.retransmissions,
    keyframeRequests: publisherTotals.keyframeRequests,
    upstreamNacks: publisherTotals.nacksSent,
    nodeRelaySent: nodeSocket.counters.sent,
    nodeRelayReceived: nodeSocket.counters.received,
    nodeRelayRejected: nodeSocket.counters.rejected,
    nodeRelayPort: nodeSocket.port,
    nodeRelayPulls,
    nodeRelayEdges,
    openSockets: openSockets(),
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
  };
}

async function handle(request: WorkerRequest): Promise<unknown> {
  switch (request.type) {
    case 'publish': {
      relayOf(request.streamId, request.channel);
      const { answer, codecs } = await engine.publish(
        request.streamId,
        request.sessionId,
        request.sdp,
      );
      // This worker now holds the publisher: it is the origin, not a relay, and pulls from no node.
      const relay = relays.get(request.streamId);
      if (relay) relay.originPort = undefined;
      relay?.unsubscribe();
      return { sdp: answer, codecs };
    }
    case 'offer_to_viewer':
      relayOf(request.streamId, request.channel);
      return { sdp: await engine.offerToViewer(request.streamId, request.sessionId) };
    case 'answer_viewer':
      relayOf(request.streamId, request.channel);
      return {
        sdp: await engine.answerViewer(request.streamId, request.sessionId, request.sdp),
      };
    case 'accept_answer':
      engine.acceptAnswer(request.sessionId, request.sdp);
      return {};
    case 'add_candidate':
      engine.addIceCandidate(request.sessionId, request.candidate);
      return {};
    case 'close_session':
      closeForParent('closed_by_parent', () => engine.closeSession(request.sessionId));
      return {};
    case 'close_stream': {
      closeForParent('stream_closed_by_parent', () => engine.closeStream(request.streamId));
      const relay = relays.get(request.streamId);
      relays.delete(request.streamId);
      if (relay) streamsByChannel.delete(relay.channel);
      relay?.close();
      return {};
    }
    case 'request_keyframe':
      engine.requestKeyframe(request.streamId);
      return {};
    case 'relay_from': {
      const relay = relayOf(request.streamId, request.channel);
      relay.originPort = request.originPort;
      engine.relayedRouter(request.streamId, request.codecs);
      return {};
    }
    case 'relay_to': {
      const relay = relayOf(request.streamId, request.channel);
      if (!request.add) {
        relay.targets.delete(request.port);
        return {};
      }
      relay.targets.add(request.port);
      relay.prime(request.port, engine.existing(request.streamId)?.gopSnapshot() ?? []);
      return {};
    }
    case 'relay_from_node': {
      const relay = relayOf(request.streamId, request.channel);
      const { origin } = request;
      const same =
        origin &&
        relay.originNode?.address === origin.address &&
        relay.originNode.port === origin.port &&
        relay.originNode.channel === origin.channel;
      if (same) return {};
      relay.unsubscribe();
      if (!origin) return {};
      if (engine.existing(request.streamId)?.hasLivePublisher)
        throw new MediaError('publisher_exists', 'This worker holds the stream’s publisher');
      relay.originPort = undefined;
      // Edges pulling from this worker follow the publisher to its node on their own.
      relay.edges.clear();
      relay.originNode = origin;
      engine.relayedRouter(request.streamId, request.codecs);
      relay.subscribe();
      return {};
    }
    case 'stats':
      return stats();
    case 'shutdown':
      shutdown();
      return {};
  }
}

function toWorkerError(error: unknown): WorkerError {
  if (error instanceof MediaError)
    return { reason: error.reason, message: error.message, detail: error.detail };
  logger.error({ err: error }, 'media request failed');
  return { reason: 'internal', message: 'The media server failed' };
}

process.on('message', (message: MainToWorker) => {
  handle(message.request).then(
    (result) => send({ id: message.id, ok: true, result }),
    (error: unknown) => send({ id: message.id, ok: false, error: toWorkerError(error) }),
  );
});

let stopping = false;
/**
 * Closes every connection, then exits at once: libdatachannel's `cleanup()` crashes once closed
 * connections have been collected, and without it the process would not exit by itself.
 */
function shutdown(): void {
  if (stopping) return;
  stopping = true;
  // Asked for by the main process, or it is gone: either way no viewer ended on its own.
  closeForParent('stream_closed_by_parent', () => engine.close());
  clearInterval(keepAlive);
  for (const relay of relays.values()) relay.close();
  relaySocket.close();
  nodeSocket.close();
  setImmediate(() => process.exit(0));
}

// The main process went away (crashed or was killed): nothing is left to serve.
process.on('disconnect', shutdown);
process.on('SIGTERM', shutdown);
process.on('SIGINT', () => undefined);

relaySocket.bind(0, '127.0.0.1', () => {
  nodeSocket.bind(process.pid).then(
    (nodeRelayPort) =>
      send({ event: 'ready', relayPort: relaySocket.address().port, nodeRelayPort }),
    (err: unknown) => {
      // Not ready, so the pool replaces this worker; the log says why.
      logger.error({ err }, 'could not open the relay socket for other nodes');
      process.exit(1);
    },
  );
});
