/**
 * A media worker: a child process of the server that owns peer connections and forwards RTP, so
 * forwarding never runs on the thread that serves the API, and every core is used. It is the
 * only kind of process that loads node-datachannel, and loads it once (the library aborts when
 * two isolates of one process load it).
 */
import { createSocket } from 'node:dgram';
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
import { NodeRelayHub } from './NodeRelayHub';
import { deliverRelayed, StreamRelay, relayHeaderLength } from './StreamRelay';

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
const relays = new Map<string, StreamRelay>();
const streamsByChannel = new Map<number, string>();
const nodeRelay = new NodeRelayHub(settings.nodeRelay, {
  relays: () => relays.values(),
  byChannel(channel) {
    const streamId = streamsByChannel.get(channel);
    const relay = streamId === undefined ? undefined : relays.get(streamId);
    const router = streamId === undefined ? undefined : engine.existing(streamId);
    return relay && router && { relay, router };
  },
  byOrigin(from, channel) {
    // A worker pulls a few streams at most: a scan costs less than keeping a second index true.
    for (const [streamId, relay] of relays) {
      const origin = relay.originNode;
      if (origin?.channel !== channel || origin.port !== from.port) continue;
      if (origin.address !== from.address) continue;
      const router = engine.existing(streamId);
      return router && { relay, router };
    }
    return undefined;
  },
});

const relayOf = (streamId: string, channel: number): StreamRelay => {
  let relay = relays.get(streamId);
  if (!relay) {
    relay = new StreamRelay(relaySocket, nodeRelay.socket, channel);
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
    onRecordingLog: (streamId, message, err) => logger.error({ err, streamId }, message),
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

engine.on('stream_layers', (streamId, layers) =>
  send({ event: 'stream_layers', streamId, layers }),
);
engine.on('recording', (streamId, report) => send({ event: 'recording', streamId, report }));

relaySocket.on('message', (datagram, from) => {
  if (from.address !== '127.0.0.1' || datagram.length < relayHeaderLength) return;
  const streamId = streamsByChannel.get(datagram.readUInt32BE(1));
  const router = streamId === undefined ? undefined : engine.existing(streamId);
  if (!router) return;
  deliverRelayed(
    router,
    datagram[0] ?? -1,
    datagram.subarray(relayHeaderLength),
    `worker:${from.port}`,
  );
});

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
    nodeRelaySent: nodeRelay.socket.counters.sent,
    nodeRelayReceived: nodeRelay.socket.counters.received,
    nodeRelayRejected: nodeRelay.socket.counters.rejected,
    nodeRelayPort: nodeRelay.socket.port,
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
        request.recording,
      );
      // This worker now holds the publisher: it is the origin, not a relay, and pulls from no node.
      const relay = relays.get(request.streamId);
      if (relay) relay.originPort = undefined;
      relay?.unsubscribe();
      return { sdp: answer, codecs };
    }
    case 'offer_to_viewer':
      relayOf(request.streamId, request.channel);
      return {
        sdp: await engine.offerToViewer(request.streamId, request.sessionId, request.quality),
      };
    case 'answer_viewer':
      relayOf(request.streamId, request.channel);
      return {
        sdp: await engine.answerViewer(
          request.streamId,
          request.sessionId,
          request.sdp,
          request.quality,
        ),
      };
    case 'accept_answer':
      engine.acceptAnswer(request.sessionId, request.sdp);
      return {};
    case 'set_quality':
      engine.setQuality(request.sessionId, request.quality);
      return {};
    case 'add_candidate':
      engine.addIceCandidate(request.sessionId, request.candidate);
      return {};
    case 'close_session':
      closeForParent('closed_by_parent', () => engine.closeSession(request.sessionId));
      return {};
    case 'close_stream': {
      closeForParent(
        'stream_closed_by_parent',
        () => void engine.closeStream(request.streamId, request.ended ?? false),
      );
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
      relay.prime(request.port, engine.existing(request.streamId)?.gopSnapshots() ?? []);
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
  for (const relay of relays.values()) relay.close();
  relaySocket.close();
  nodeRelay.close();
  // The recordings' last fragments reach the disk first (bounded: a stuck disk cannot hold the exit).
  const exit = () => process.exit(0);
  setTimeout(exit, 3000).unref();
  void engine.recordingsSettled().finally(() => setImmediate(exit));
}

// The main process went away (crashed or was killed): nothing is left to serve.
process.on('disconnect', shutdown);
process.on('SIGTERM', shutdown);
process.on('SIGINT', () => undefined);

relaySocket.bind(0, '127.0.0.1', () => {
  nodeRelay.socket.bind(process.pid).then(
    (nodeRelayPort) =>
      send({ event: 'ready', relayPort: relaySocket.address().port, nodeRelayPort }),
    (err: unknown) => {
      // Not ready, so the pool replaces this worker; the log says why.
      logger.error({ err }, 'could not open the relay socket for other nodes');
      process.exit(1);
    },
  );
});
