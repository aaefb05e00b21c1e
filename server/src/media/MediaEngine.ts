import { EventEmitter } from 'node:events';
import type { MediaKind } from './codecs';
import { MediaError } from './MediaError';
import type { MediaNetworkOptions, RemoteCandidate } from './peer-config';
import type { Publisher } from './Publisher';
import { StreamRouter } from './StreamRouter';
import type { Subscriber } from './Subscriber';

export interface MediaEngineOptions {
  network: MediaNetworkOptions;
  /** Bandwidth offered to publishers (REMB), bit/s. Default 4 Mbit/s. */
  maxPublishBitrate?: number;
  /** A connected publisher that sends nothing for this long is lost. Default 5 s. */
  publisherSilenceMs?: number;
}

/** What the media plane reports outward; the lifecycle and the transports translate it. */
export interface MediaEventMap {
  publisher_connected: [streamId: string, sessionId: string];
  publisher_lost: [streamId: string, sessionId: string];
  subscriber_closed: [streamId: string, sessionId: string];
  error: [error: unknown];
}

export type SessionRole = 'publish' | 'watch';

interface Session {
  streamId: string;
  role: SessionRole;
  target: Publisher | Subscriber;
}

/** The SFU of this process: a router per live stream, and the sessions (publishers and viewers) in them. */
export class MediaEngine extends EventEmitter<MediaEventMap> {
  private readonly routers = new Map<string, StreamRouter>();
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly options: MediaEngineOptions) {
    super({ captureRejections: true });
  }

  /** Takes a publisher's offer; 409-worthy `publisher_exists` if one is already connected. */
  async publish(
    streamId: string,
    offerSdp: string,
  ): Promise<{ sessionId: string; answer: string }> {
    const router = this.router(streamId);
    try {
      const { publisher, answer } = await router.publish(offerSdp);
      this.sessions.set(publisher.id, { streamId, role: 'publish', target: publisher });
      return { sessionId: publisher.id, answer };
    } catch (error) {
      // A refused first offer leaves nothing behind.
      if (!router.hasLivePublisher && router.subscriberCount === 0 && !router.hasCodecs) {
        this.routers.delete(streamId);
        router.close();
      }
      throw error;
    }
  }

  /** Server-offered viewer connection (the web app's signalling); finish with `acceptAnswer`. */
  async offerToViewer(streamId: string): Promise<{ sessionId: string; offer: string }> {
    const subscriber = this.existingRouter(streamId).createSubscriber();
    this.sessions.set(subscriber.id, { streamId, role: 'watch', target: subscriber });
    try {
      return { sessionId: subscriber.id, offer: await subscriber.offer() };
    } catch (error) {
      subscriber.close();
      throw error;
    }
  }

  async acceptAnswer(sessionId: string, answerSdp: string): Promise<void> {
    const session = this.session(sessionId, 'watch');
    await (session.target as Subscriber).accept(answerSdp);
  }

  /** Viewer-offered connection (WHEP). */
  async answerViewer(
    streamId: string,
    offerSdp: string,
  ): Promise<{ sessionId: string; answer: string }> {
    const subscriber = this.existingRouter(streamId).createSubscriber();
    this.sessions.set(subscriber.id, { streamId, role: 'watch', target: subscriber });
    try {
      return { sessionId: subscriber.id, answer: await subscriber.answer(offerSdp) };
    } catch (error) {
      subscriber.close();
      throw error;
    }
  }

  async addIceCandidate(sessionId: string, candidate: RemoteCandidate): Promise<void> {
    const session = this.sessions.get(sessionId);
    if (!session) throw new MediaError('session_not_found', 'No such media session');
    await session.target.addIceCandidate(candidate);
  }

  sessionInfo(sessionId: string): { streamId: string; role: SessionRole } | undefined {
    const session = this.sessions.get(sessionId);
    return session && { streamId: session.streamId, role: session.role };
  }

  /** Ends one session; the stream goes on. Unknown ids are ignored (closing is idempotent). */
  closeSession(sessionId: string): void {
    const session = this.sessions.get(sessionId);
    if (!session) return;
    if (session.role === 'publish') this.routers.get(session.streamId)?.closePublisher(sessionId);
    else (session.target as Subscriber).close();
  }

  /** Ends a stream's media: every connection, timer and port of it. */
  closeStream(streamId: string): void {
    const router = this.routers.get(streamId);
    if (!router) return;
    this.routers.delete(streamId);
    router.close();
    for (const [id, session] of this.sessions)
      if (session.streamId === streamId) this.sessions.delete(id);
  }

  requestKeyframe(streamId: string): void {
    this.routers.get(streamId)?.requestKeyframe();
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
    for (const streamId of [...this.routers.keys()]) this.closeStream(streamId);
  }

  private router(streamId: string): StreamRouter {
    let router = this.routers.get(streamId);
    if (!router) {
      router = new StreamRouter(
        streamId,
        this.options.network,
        {
          maxBitrate: this.options.maxPublishBitrate ?? 4_000_000,
          silenceMs: this.options.publisherSilenceMs ?? 5000,
        },
        {
          publisherConnected: (r, p) => this.emit('publisher_connected', r.streamId, p.id),
          publisherLost: (r, p) => {
            this.sessions.delete(p.id);
            this.emit('publisher_lost', r.streamId, p.id);
          },
          subscriberClosed: (r, s) => {
            this.sessions.delete(s.id);
            this.emit('subscriber_closed', r.streamId, s.id);
          },
        },
      );
      this.routers.set(streamId, router);
    }
    return router;
  }

  private existingRouter(streamId: string): StreamRouter {
    const router = this.routers.get(streamId);
    if (!router)
      throw new MediaError('no_publisher', 'The broadcaster has not started sending yet');
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
