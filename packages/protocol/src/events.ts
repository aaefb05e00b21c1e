import type { AckCallback } from './errors';
import type {
  IceCandidate,
  LiveCommentPayload,
  LiveIceCandidatePayload,
  LiveReactionPayload,
  LiveSdpPayload,
  SessionDescription,
  StartStreamBody,
  StreamRef,
} from './schemas';
import type {
  JoinResult,
  LiveComment,
  LiveReaction,
  StartedStream,
  Stream,
  ViewerCount,
  ViewerEvent,
} from './types';

/** Room that carries one stream's events. */
export const streamRoom = (streamId: string): `live_${string}` => `live_${streamId}`;

/**
 * Client → server. Every event takes an acknowledgement; payloads are validated by the server
 * with the schemas in ./schemas, so their static types here are what a well-behaved client sends.
 */
export interface ClientToServerEvents {
  /** Start a stream (same as `POST /api/live/start`); `live_started` goes out once. */
  start_live: (
    payload: Partial<StartStreamBody>,
    ack: AckCallback<{ stream: StartedStream }>,
  ) => void;
  join_live: (payload: StreamRef, ack: AckCallback<JoinResult>) => void;
  leave_live: (payload: StreamRef, ack: AckCallback) => void;
  live_comment: (payload: LiveCommentPayload, ack: AckCallback<{ comment: LiveComment }>) => void;
  live_reaction: (payload: LiveReactionPayload, ack: AckCallback) => void;
  end_live: (payload: StreamRef, ack: AckCallback<{ stream: Stream }>) => void;
  /**
   * The broadcaster sends its offer to publish; a viewer sends `{streamId}` with no description
   * to ask to watch. The server answers with `live_answer` (publish) or `live_offer` (watch),
   * in the acknowledgement.
   */
  live_offer: (
    payload: LiveSdpPayload | StreamRef,
    ack: AckCallback<{ description: SessionDescription }>,
  ) => void;
  /** A viewer's answer to the server's watch offer. */
  live_answer: (payload: LiveSdpPayload, ack: AckCallback) => void;
  live_ice_candidate: (payload: LiveIceCandidatePayload, ack: AckCallback) => void;
}

export interface ServerToClientEvents {
  live_started: (stream: Stream) => void;
  live_ended: (payload: { streamId: string; stream: Stream }) => void;
  viewer_joined: (payload: ViewerEvent) => void;
  viewer_left: (payload: ViewerEvent) => void;
  viewer_count: (payload: ViewerCount) => void;
  live_comment_added: (comment: LiveComment) => void;
  live_reaction_received: (reaction: LiveReaction) => void;
  /** The server's description for one of this socket's media connections. */
  live_offer: (payload: { streamId: string; description: SessionDescription }) => void;
  live_answer: (payload: { streamId: string; description: SessionDescription }) => void;
  live_ice_candidate: (payload: {
    streamId: string;
    role: 'publish' | 'watch';
    candidate: IceCandidate | null;
  }) => void;
  /** The publisher's media dropped; the stream stays live for a grace period. */
  broadcaster_reconnecting: (payload: { streamId: string; graceSeconds: number }) => void;
  /** The publisher's media is back. */
  broadcaster_resumed: (payload: { streamId: string }) => void;
  /**
   * This user may no longer watch a private stream (they stopped following its host): the server
   * has taken their tabs out of its room and closed their media for it.
   */
  live_access_revoked: (payload: { streamId: string }) => void;
}

export interface InterServerEvents {
  ping: () => void;
  /** A node revoked a user's access to a stream; each node closes that user's media there. */
  access_revoked: (revocation: { streamId: string; userId: string }) => void;
}

/** What the server keeps on every socket after authentication. */
export interface SocketData {
  userId: string;
  username: string;
}
