/**
 * The typed messages between the main process and its media workers (child processes, like
 * mediasoup's workers). Plain data only: this module is imported by both sides and must never
 * pull in node-datachannel.
 */
import type { QualityChoice, StreamLayer } from '@onair/protocol';
import type { StreamCodecs } from './codecs';
import type { MediaErrorReason } from './MediaError';
import type { NodeRelaySettings } from './NodeRelaySocket';
import type { MediaNetworkOptions, RemoteCandidate } from './peer-config';
import type { RecordingPlan, RecordingReport } from './recording/StreamRecorder';
import type { NodeEndpoint } from './StreamRelay';

export interface WorkerSettings {
  network: MediaNetworkOptions;
  nodeRelay: NodeRelaySettings;
  maxPublishBitrate: number;
  connectTimeoutMs: number;
  logLevel: string;
}

/** What the main process asks of a worker; each gets exactly one reply. */
export type WorkerRequest =
  | {
      type: 'publish';
      streamId: string;
      channel: number;
      sessionId: string;
      sdp: string;
      /** Record (and package as HLS) where the publisher is; absent when nothing is packaged. */
      recording?: RecordingPlan | undefined;
    }
  | {
      type: 'offer_to_viewer';
      streamId: string;
      channel: number;
      sessionId: string;
      quality: QualityChoice;
    }
  | {
      type: 'answer_viewer';
      streamId: string;
      channel: number;
      sessionId: string;
      sdp: string;
      quality: QualityChoice;
    }
  /** A viewer's quality choice for its session, applied at once. */
  | { type: 'set_quality'; sessionId: string; quality: QualityChoice }
  | { type: 'accept_answer'; sessionId: string; sdp: string }
  | { type: 'add_candidate'; sessionId: string; candidate: RemoteCandidate }
  | { type: 'close_session'; sessionId: string }
  /** `ended`: the stream is over (its recording is finished), not merely moved or unwatched here. */
  | { type: 'close_stream'; streamId: string; ended?: boolean | undefined }
  | { type: 'request_keyframe'; streamId: string }
  /** This worker holds viewers of a stream whose publisher is on the worker at `originPort`. */
  | {
      type: 'relay_from';
      streamId: string;
      channel: number;
      codecs: StreamCodecs;
      originPort: number | undefined;
    }
  /** This worker holds the publisher: send (or stop sending) the stream to the worker at `port`. */
  | { type: 'relay_to'; streamId: string; channel: number; port: number; add: boolean }
  /**
   * This worker receives a stream from another node's worker `origin` and passes it on to this
   * node's workers; without `origin` it stops pulling.
   */
  | {
      type: 'relay_from_node';
      streamId: string;
      channel: number;
      codecs: StreamCodecs;
      origin: NodeEndpoint | undefined;
    }
  | { type: 'stats' }
  | { type: 'shutdown' };

export interface WorkerStats {
  streams: number;
  publishers: number;
  subscribers: number;
  forwardedPackets: number;
  forwardedBytes: number;
  nacksAnswered: number;
  keyframeRequests: number;
  upstreamNacks: number;
  /** Relay datagrams sent to, and received from, other nodes. */
  nodeRelaySent: number;
  nodeRelayReceived: number;
  /** Datagrams on the node relay socket that were not sealed with the deployment's key. */
  nodeRelayRejected: number;
  /** This worker's relay port for other nodes. */
  nodeRelayPort: number;
  /** Streams this worker pulls from another node, and the nodes pulling streams from it. */
  nodeRelayPulls: number;
  nodeRelayEdges: number;
  /** Sockets this process holds open (UDP for media and relay, the IPC channel). */
  openSockets: number;
  rssBytes: number;
  heapUsedBytes: number;
}

export interface WorkerReplies {
  publish: { sdp: string; codecs: StreamCodecs };
  offer_to_viewer: { sdp: string };
  answer_viewer: { sdp: string };
  stats: WorkerStats;
}

export type ReplyOf<T extends WorkerRequest['type']> = T extends keyof WorkerReplies
  ? WorkerReplies[T]
  : Record<string, never>;

export interface WorkerError {
  reason: MediaErrorReason | 'internal';
  message: string;
  detail?: string | undefined;
}

export type MainToWorker = { id: number; request: WorkerRequest };

/** What the media plane reports outward, written once: the engine emits it, the worker passes it
 * on, the pool re-emits it to the lifecycle and the transports. */
export interface MediaEventMap {
  publisher_connected: [streamId: string, sessionId: string];
  publisher_lost: [streamId: string, sessionId: string];
  /** A connected publisher has sent nothing for a while (2 s): its stream may be taken over. */
  publisher_quiet: [streamId: string, sessionId: string];
  /** A quiet publisher sends again. */
  publisher_sending: [streamId: string, sessionId: string];
  subscriber_connected: [streamId: string, sessionId: string];
  subscriber_closed: [streamId: string, sessionId: string];
  /** The layers a publisher sends changed, or a few seconds passed while it publishes. */
  stream_layers: [streamId: string, layers: StreamLayer[]];
  /** The stream's recording began, progressed, stopped on an error or finished. */
  recording: [streamId: string, report: RecordingReport];
}

export const mediaEvents = [
  'publisher_connected',
  'publisher_lost',
  'publisher_quiet',
  'publisher_sending',
  'subscriber_connected',
  'subscriber_closed',
] as const satisfies readonly Exclude<keyof MediaEventMap, 'stream_layers' | 'recording'>[];

/** Why a session ended, as its worker tells the main process. */
export type CloseCause =
  /** The main process closed this session. */
  | 'closed_by_parent'
  /** The main process ended the session's whole stream on this worker. */
  | 'stream_closed_by_parent'
  /** It ended on its own: its peer went away, it never connected, or its publisher fell silent. */
  | 'own';

/** One media event as it crosses the IPC channel; an ended session says why it ended. */
export type MediaEvent =
  | {
      event:
        'publisher_connected' | 'publisher_quiet' | 'publisher_sending' | 'subscriber_connected';
      streamId: string;
      sessionId: string;
    }
  | {
      event: 'publisher_lost' | 'subscriber_closed';
      streamId: string;
      sessionId: string;
      cause: CloseCause;
    };

/** The layers a stream's publisher sends, from the worker holding it (on change, and every few seconds). */
export interface LayersEvent {
  event: 'stream_layers';
  streamId: string;
  layers: StreamLayer[];
}

/** A stream's recording, from the worker holding its publisher. */
export interface RecordingEvent {
  event: 'recording';
  streamId: string;
  report: RecordingReport;
}

export type WorkerEvent =
  | { event: 'ready'; relayPort: number; nodeRelayPort: number }
  | MediaEvent
  | LayersEvent
  | RecordingEvent;

export type WorkerToMain =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: WorkerError }
  | WorkerEvent;
