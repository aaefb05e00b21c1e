import type { z } from 'zod';
import type { AckCallback } from './errors';
import {
  joinLivePayload,
  liveAnswerPayload,
  liveCommentPayload,
  liveIceCandidatePayload,
  liveMediaStatePayload,
  liveModeratePayload,
  liveOfferPayload,
  liveQualityPayload,
  liveReactionPayload,
  startStreamBody,
  streamRef,
  type SessionDescription,
} from './schemas';
import type {
  BroadcastMediaState,
  RecordingStatus,
  ChatRole,
  JoinResult,
  LiveComment,
  LiveNotification,
  LiveReaction,
  ModerationResult,
  StartedStream,
  Stream,
  StreamLayer,
  ViewerCount,
  ViewerEvent,
  ViewerList,
} from './types';

/** Room that carries one stream's events. */
export const streamRoom = (streamId: string): `live_${string}` => `live_${streamId}`;

declare const ackResult: unique symbol;

/**
 * One client → server event: the schema its payload must pass and, as a type only, what its
 * acknowledgement carries beside `ok: true` when it succeeds.
 */
export interface ClientEvent<S extends z.ZodType = z.ZodType, R extends object = object> {
  readonly payload: S;
  readonly [ackResult]?: R;
}

const clientEvent = <S extends z.ZodType>(payload: S) => ({
  /** What a successful acknowledgement of this event carries. */
  acks: <R extends object = object>(): ClientEvent<S, R> => ({ payload }),
});

/**
 * Every client → server event, with its payload's schema and its acknowledgement's type. The
 * server registers its handlers against this table and the clients' types are derived from it,
 * so an event's name, payload and ack cannot drift apart. Every event takes an acknowledgement.
 */
export const clientEvents = {
  /** Start a stream (same as `POST /api/live/start`); `live_started` goes out once. */
  start_live: clientEvent(startStreamBody).acks<{ stream: StartedStream }>(),
  join_live: clientEvent(joinLivePayload).acks<JoinResult>(),
  leave_live: clientEvent(streamRef).acks(),
  /** The ack carries the comment as stored, with its id. */
  live_comment: clientEvent(liveCommentPayload).acks<{ comment: LiveComment }>(),
  live_reaction: clientEvent(liveReactionPayload).acks(),
  end_live: clientEvent(streamRef).acks<{ stream: Stream }>(),
  /**
   * The broadcaster sends its offer to publish and gets the server's answer; a viewer sends
   * `{ streamId }` with no description to ask to watch and gets the server's offer.
   */
  live_offer: clientEvent(liveOfferPayload).acks<{ description: SessionDescription }>(),
  /**
   * A viewer's quality choice for its session of the stream, applied at once (the menu's Auto /
   * High / Medium / Low). Needs a watching session on this socket.
   */
  live_quality: clientEvent(liveQualityPayload).acks(),
  /** A viewer's answer to the server's watch offer. */
  live_answer: clientEvent(liveAnswerPayload).acks(),
  live_ice_candidate: clientEvent(liveIceCandidatePayload).acks(),
  /** The host announces their camera and microphone; the room gets `live_media_state`. Host only. */
  live_media_state: clientEvent(liveMediaStatePayload).acks(),
  /** One moderation action (same as `POST /api/live/:streamId/moderation`). Host and moderators. */
  live_moderate: clientEvent(liveModeratePayload).acks<ModerationResult>(),
  /**
   * Who is watching the stream now. Host only: viewers' identities never reach anyone else; the
   * host then hears `viewer_joined` / `viewer_left` for signed-in viewers.
   */
  viewer_list: clientEvent(streamRef).acks<ViewerList>(),
} as const;

/**
 * What a socket without a token may send: watching public streams. Every other event is refused
 * with `unauthorized` ("Sign in to chat" in the web app).
 */
export const ANONYMOUS_EVENTS = [
  'join_live',
  'leave_live',
  'live_offer',
  'live_answer',
  'live_ice_candidate',
  'live_quality',
] as const satisfies readonly ClientEventName[];

export type ClientEventName = keyof typeof clientEvents;

/** What a client sends with event `E` (the schema's input). */
export type ClientPayload<E extends ClientEventName> = z.input<(typeof clientEvents)[E]['payload']>;

/** What the server's handler of `E` receives: the payload once parsed (the schema's output). */
export type ParsedPayload<E extends ClientEventName> = z.output<
  (typeof clientEvents)[E]['payload']
>;

/** What a successful acknowledgement of `E` carries beside `ok: true`. */
export type AckResult<E extends ClientEventName> =
  (typeof clientEvents)[E] extends ClientEvent<z.ZodType, infer R> ? R : never;

/** Client → server, as Socket.IO's typed sockets take it: derived from `clientEvents`. */
export type ClientToServerEvents = {
  [E in ClientEventName]: (payload: ClientPayload<E>, ack: AckCallback<AckResult<E>>) => void;
};

export interface ServerToClientEvents {
  live_started: (stream: Stream) => void;
  live_ended: (payload: { streamId: string; stream: Stream }) => void;
  /** A signed-in viewer came (to the host's tabs only; anonymous watchers move the count only). */
  viewer_joined: (payload: ViewerEvent) => void;
  /** A signed-in viewer went (to the host's tabs only). */
  viewer_left: (payload: ViewerEvent) => void;
  viewer_count: (payload: ViewerCount) => void;
  live_comment_added: (comment: LiveComment) => void;
  live_reaction_received: (reaction: LiveReaction) => void;
  /** The publisher's media dropped; the stream stays live for a grace period. */
  broadcaster_reconnecting: (payload: { streamId: string; graceSeconds: number }) => void;
  /** The publisher's media is back. */
  broadcaster_resumed: (payload: { streamId: string }) => void;
  /**
   * This user may no longer watch a private stream (they stopped following its host): the server
   * has taken their tabs out of its room and closed their media for it.
   */
  live_access_revoked: (payload: { streamId: string }) => void;
  /**
   * This user may now watch a private stream they were kept out of (they followed its host):
   * to their own tabs, which join again (a tab that was refused or revoked retries its join).
   */
  live_access_granted: (payload: { streamId: string }) => void;
  /** The broadcaster turned their camera or microphone on or off. */
  live_media_state: (payload: { streamId: string } & BroadcastMediaState) => void;
  /**
   * The layers the broadcaster sends (to the room, when they change and every few seconds while
   * they do): heights for the quality menu, bitrates and viewers per layer for the host.
   */
  live_layers: (payload: { streamId: string; layers: StreamLayer[] }) => void;
  /**
   * The stream's recording changed state (to the room): it started, stopped with an error (the
   * host is told why), or its replay is ready.
   */
  live_recording: (payload: {
    streamId: string;
    status: RecordingStatus;
    error: string | null;
  }) => void;
  /** A new thumbnail of a stream (to the room and the list pages, like `viewer_count`). */
  live_thumbnail: (payload: { streamId: string; thumbnail: string }) => void;
  /** A moderator deleted a comment (to the room): take it off the screen. */
  live_comment_deleted: (payload: { streamId: string; commentId: string }) => void;
  /**
   * A ban or timeout took a user's earlier messages of this stream out of its chat (to the room):
   * take every message of theirs off the screen, those named and any other of theirs held.
   */
  live_comments_removed: (payload: {
    streamId: string;
    userId: string;
    commentIds: string[];
  }) => void;
  /** Slow mode changed (to the room); 0 is off. */
  live_slow_mode: (payload: { streamId: string; seconds: number }) => void;
  /**
   * This user was timed out of the stream's chat (to their own tabs): they may watch but not
   * comment until `until`.
   */
  live_timed_out: (payload: { streamId: string; until: string; seconds: number }) => void;
  /**
   * This user was banned from the host's streams (to their own tabs): the server has taken them
   * out of the room and closed their media for it.
   */
  live_banned: (payload: { streamId: string }) => void;
  /** This user's part in the stream's chat changed (to their own tabs): moderator or not. */
  live_role: (payload: { streamId: string; role: ChatRole }) => void;
  /**
   * Something for this user (to their own tabs on every node): someone they follow went live.
   * It is stored unread; `GET /api/me/notifications` lists it with the same id.
   */
  notification: (notification: LiveNotification) => void;
}

export interface InterServerEvents {
  /** A node revoked a user's access to a stream; each node closes that user's media there. */
  access_revoked: (revocation: { streamId: string; userId: string }) => void;
  /** A node banned a user from a stream's host; each node closes that user's media there. */
  banned: (ban: { streamId: string; userId: string }) => void;
  /** A node ended a stream; the node holding its media closes it. */
  stream_ended: (ended: { streamId: string }) => void;
  /** A node took a stream over from a quiet publisher; the node holding that session closes it. */
  publisher_replaced: (replaced: { streamId: string; sessionId: string }) => void;
  /** A node has viewers of a stream it does not hold: the node holding its publisher answers with `media_origin`. */
  media_origin_wanted: (wanted: { streamId: string }) => void;
  /**
   * Where a stream's media is served from (the answer to `media_origin_wanted`, and said again
   * whenever a publisher connects): the relay address of the worker holding its publisher, the
   * stream's relay channel there and its codecs. Nodes with viewers of it pull it from there.
   */
  media_origin: (origin: {
    streamId: string;
    node: string;
    address: string;
    port: number;
    channel: number;
    codecs: unknown;
  }) => void;
}

/**
 * What the server keeps on every socket after authentication. A socket without a token is an
 * anonymous watcher: no user, and it is counted as one viewer by its own id.
 */
export type SocketData =
  | { anonymous: false; userId: string; username: string }
  | { anonymous: true; userId: null; username: null };
