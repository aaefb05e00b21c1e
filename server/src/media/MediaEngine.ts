import type { QualityChoice } from '@onair/protocol';
import { SafeEmitter, type ListenerErrorHandler } from '../events/SafeEmitter';
import type { MediaKind, StreamCodecs } from './codecs';
import { MediaError } from './MediaError';
import type { MediaEventMap } from './ipc';
import type { MediaNetworkOptions, RemoteCandidate } from './peer-config';
import type { Publisher } from './Publisher';
import { StreamRecorder, type RecordingPlan } from './recording/StreamRecorder';
import { StreamRouter, type RouterRelay } from './StreamRouter';
import type { Subscriber } from './Subscriber';

export interface MediaEngineOptions {
  network: MediaNetworkOptions;
  /** Bandwidth offered to publishers (REMB), bit/s. Default 4 Mbit/s. */
  maxPublishBitrate?: number;
  /** A connected publisher that sends nothing for this long is lost. Default 5 s. */
  publisherSilenceMs?: number;
  /**
   * A connected publisher that sends nothing for this long is reported quiet (and sending again
   * when it does): its stream may then be taken over by a new publisher. Default 2 s.
   */
  publisherQuietMs?: number;
  /** A session (publisher or viewer) not connected this long after negotiating is closed. Default 15 s. */
  connectTimeoutMs?: number;
  /**
   * Told of a listener that threw or rejected. Events are emitted from the library's callbacks,
   * where a throw would end the worker and every connection on it.
   */
  onListenerError: ListenerErrorHandler;
  /** Told when a recording stops or cannot clean up (the worker logs it). */
  onRecordingLog?: (streamId: string, message: string, error: unknown) => void;
}

export type SessionRole = 'publish' | 'watch';

interface Session {
  streamId: string;
  role: SessionRole;
  target: Publisher | Subscriber;
}

/** The SFU of one worker process: a router per stream, and the sessions (publishers and viewers) in them. */
export class MediaEngine extends SafeEmitter<MediaEventMap> {
  private readonly routers = new Map<string, StreamRouter>();
  private readonly sessions = new Map<string, Session>();
  /** Recordings of the streams whose publisher is here; one outlives its router while it finishes. */
  private readonly recorders = new Map<string, StreamRecorder>();

  constructor(
    private readonly options: MediaEngineOptions,
    /** How a router reaches the other workers of its stream (set per stream by the worker). */
    private readonly relayFor: (streamId: string) => RouterRelay | undefined = () => undefined,
  ) {
    super(options.onListenerError);
  }

  /** Takes a publisher's offer; `publisher_exists` if one is already connected. */
  async publish(
    streamId: string,
    sessionId: string,
    offerSdp: string,
    recording?: RecordingPlan,
  ): Promise<{ answer: string; codecs: StreamCodecs }> {
    const router = this.router(streamId);
    try {
      const { publisher, answer } = await router.publish(sessionId, offerSdp);
      this.sessions.set(sessionId, { streamId, role: 'publish', target: publisher });
      if (recording && !router.recorder) router.recorder = this.recorder(router, recording);
      return { answer, codecs: router.streamCodecs ?? {} };
    } catch (error) {
      // A refused first offer leaves nothing behind.
      if (!router.hasLivePublisher && router.subscriberCount === 0 && !router.streamCodecs) {
        this.routers.delete(streamId);
        router.close();
      }
      throw error;
    }
  }

  /** Server-offered viewer connection (the web app's signalling); finish with `acceptAnswer`. */
  async offerToViewer(
    streamId: string,
    sessionId: string,
    quality: QualityChoice = 'auto',
  ): Promise<string> {
    const subscriber = this.subscriber(streamId, sessionId, quality);
    try {
      return await subscriber.offer();
    } catch (error) {
      subscriber.close();
      throw error;
    }
  }

  acceptAnswer(sessionId: string, answerSdp: string): void {
    const session = this.session(sessionId, 'watch');
    (session.target as Subscriber).accept(answerSdp);
  }

  /** Viewer-offered connection (WHEP). */
  async answerViewer(
    streamId: string,
    sessionId: string,
    offerSdp: string,
    quality: QualityChoice = 'auto',
  ): Promise<string> {
    const subscriber = this.subscriber(streamId, sessionId, quality);
    try {
      return await subscriber.answer(offerSdp);
    } catch (error) {
      subscriber.close();
      throw error;
    }
  }

  /** A viewer's quality choice, applied at once. */
  setQuality(sessionId: string, quality: QualityChoice): void {
    const session = this.session(sessionId, 'watch');
    const subscriber = session.target as Subscriber;
    subscriber.setQuality(quality);
    this.routers.get(session.streamId)?.decideNow(subscriber);
  }

  addIceCandidate(sessionId: string, candidate: RemoteCandidate): void {
    const session = this.sessions.get(sessionId);
    if (!session) throw new MediaError('session_not_found', 'No such media session');
    session.target.addIceCandidate(candidate);
  }

  /** Ends one session; the stream goes on. Unknown ids are ignored (closing is idempotent). */
  closeSession(sessionId: string): void {
    const session = this.sessions.get(sessionId);
    if (!session) return;
    if (session.role === 'publish') this.routers.get(session.streamId)?.closePublisher(sessionId);
    else (session.target as Subscriber).close();
  }

  /**
   * Ends a stream's media on this worker: every connection, timer and buffer of it. `ended`: the
   * stream is over, so its recording is finished; otherwise (it moved) the recording's part ends
   * and whoever holds the publisher next continues it.
   */
  closeStream(streamId: string, ended = false): Promise<void> {
    const router = this.routers.get(streamId);
    const recorder = router?.recorder;
    const done = recorder ? recorder.finish(ended) : Promise.resolve();
    if (recorder)
      void done.finally(() => {
        if (this.recorders.get(streamId) === recorder) this.recorders.delete(streamId);
      });
    if (!router) return done;
    this.routers.delete(streamId);
    router.close();
    for (const [id, session] of this.sessions)
      if (session.streamId === streamId) this.sessions.delete(id);
    return done;
  }

  /** Every recording still being written or finished, for a worker shutting down to wait on. */
  recordingsSettled(): Promise<void> {
    return Promise.all([...this.recorders.values()].map((r) => r.finish(false))).then(
      () => undefined,
    );
  }

  requestKeyframe(streamId: string): void {
    this.routers.get(streamId)?.requestKeyframe();
  }

  /** The router of a stream whose publisher is on another worker: fed by the relay, not a peer. */
  relayedRouter(streamId: string, codecs: StreamCodecs): StreamRouter {
    const router = this.router(streamId);
    if (!router.hasLivePublisher) router.adoptCodecs(codecs);
    return router;
  }

  existing(streamId: string): StreamRouter | undefined {
    return this.routers.get(streamId);
  }

  stats(): { streams: number; publishers: number; subscribers: number } {
    let publishers = 0;
    let subscribers = 0;
    for (const router of this.routers.values()) {
      if (router.hasLivePublisher) publishers += 1;
      subscribers += router.subscriberCount;
    }
    return { streams: this.routers.size, publishers, subscribers };
  }

  close(): void {
    for (const streamId of [...this.routers.keys()]) void this.closeStream(streamId);
  }

  private recorder(router: StreamRouter, plan: RecordingPlan): StreamRecorder {
    const streamId = router.streamId;
    const recorder = new StreamRecorder(streamId, plan, router.streamCodecs ?? {}, {
      requestKeyframe: () => router.requestKeyframe(),
      report: (report) => this.emit('recording', streamId, report),
      log: (message, error) => this.options.onRecordingLog?.(streamId, message, error),
    });
    this.recorders.set(streamId, recorder);
    return recorder;
  }

  private subscriber(streamId: string, sessionId: string, quality: QualityChoice): Subscriber {
    const router = this.routers.get(streamId);
    if (!router)
      throw new MediaError('no_publisher', 'The broadcaster has not started sending yet');
    const subscriber = router.createSubscriber(sessionId, quality);
    this.sessions.set(sessionId, { streamId, role: 'watch', target: subscriber });
    return subscriber;
  }

  private router(streamId: string): StreamRouter {
    let router = this.routers.get(streamId);
    if (!router) {
      const timeout = this.options.connectTimeoutMs ?? 15_000;
      router = new StreamRouter(
        streamId,
        {
          network: this.options.network,
          maxBitrate: this.options.maxPublishBitrate ?? 4_000_000,
          silenceMs: this.options.publisherSilenceMs ?? 5000,
          quietMs: this.options.publisherQuietMs ?? 2000,
          connectTimeoutMs: timeout,
        },
        { network: this.options.network, connectTimeoutMs: timeout },
        {
          publisherConnected: (r, p) => this.emit('publisher_connected', r.streamId, p.id),
          publisherLost: (r, p) => {
            this.sessions.delete(p.id);
            this.emit('publisher_lost', r.streamId, p.id);
          },
          publisherQuiet: (r, p, quiet) =>
            this.emit(quiet ? 'publisher_quiet' : 'publisher_sending', r.streamId, p.id),
          subscriberConnected: (r, s) => this.emit('subscriber_connected', r.streamId, s.id),
          subscriberClosed: (r, s) => {
            this.sessions.delete(s.id);
            this.emit('subscriber_closed', r.streamId, s.id);
          },
          layersChanged: (r, layers) => this.emit('stream_layers', r.streamId, layers),
        },
        this.relayFor(streamId),
      );
      this.routers.set(streamId, router);
    }
    return router;
  }

  private session(sessionId: string, role: SessionRole): Session {
    const session = this.sessions.get(sessionId);
    if (!session || session.role !== role)
      throw new MediaError('session_not_found', 'No such media session');
    return session;
  }
}

export type { MediaKind };
