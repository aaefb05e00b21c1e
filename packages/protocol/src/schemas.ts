import { z } from 'zod';
import { hasNoDirectionOrTags, isMultiLine, isPlainName, isSingleLine, textMessages } from './text';
import { REACTIONS } from './types';

/** Limits shared by the server's validation and the web app's forms. */
export const LIMITS = {
  usernameMin: 3,
  usernameMax: 30,
  passwordMin: 8,
  passwordMax: 200,
  displayNameMax: 60,
  bioMax: 500,
  titleMax: 200,
  descriptionMax: 1000,
  tagMax: 30,
  tagsMax: 10,
  commentMax: 500,
  commentPageMax: 100,
  notificationPageMax: 50,
  sdpMax: 64 * 1024,
  candidateMax: 2048,
  /** A timeout lasts at most two weeks; longer is a ban. */
  timeoutMaxSeconds: 14 * 24 * 60 * 60,
  slowModeMaxSeconds: 600,
  blockedWordsMax: 200,
  blockedWordMax: 40,
  /** At most this many comments are replayed to a socket that rejoins after a drop. */
  missedCommentsMax: 500,
  /** Anonymous ids a signed-in join may name as this device's earlier visits. */
  formerAnonymousIdsMax: 5,
  /** Signed-in viewers named in a host's viewer list; the rest are counted. */
  viewerListMax: 200,
  moderationPageMax: 100,
} as const;

/**
 * Text that fits on one line: titles, tags, chat. Trimmed first, so a pasted trailing newline
 * is dropped rather than refused; one inside the text is refused.
 */
export const singleLineText = () =>
  z.string().trim().refine(isSingleLine, { message: textMessages.singleLine });

/** Text where line breaks make sense: descriptions. Tabs and line breaks pass, other controls do not. */
export const multiLineText = () =>
  z.string().trim().refine(isMultiLine, { message: textMessages.multiLine });

/** ASCII letters, digits and `_`: no control, invisible or look-alike characters can get in. */
export const username = z
  .string()
  .regex(/^[a-zA-Z0-9_]+$/, 'letters, digits and _ only')
  .min(LIMITS.usernameMin)
  .max(LIMITS.usernameMax);

/** What other people see beside every comment: it must show all it contains. */
export const displayName = z
  .string()
  .trim()
  .min(1)
  .max(LIMITS.displayNameMax)
  .refine(isPlainName, { message: textMessages.plainName });

/** Passwords are not trimmed (every character counts) but, like all text, have no controls. */
const password = z.string().refine(isSingleLine, { message: textMessages.singleLine });

export const registerBody = z.object({
  username,
  password: password.min(LIMITS.passwordMin).max(LIMITS.passwordMax),
  displayName: displayName.optional(),
});
export type RegisterBody = z.infer<typeof registerBody>;

/** Looser than registration (a wrong name is a 401, not a lecture), but never a control character. */
export const loginBody = z.object({
  username: z.string().min(1).max(LIMITS.usernameMax).refine(isSingleLine, {
    message: textMessages.singleLine,
  }),
  password: password.min(1).max(LIMITS.passwordMax),
});
export type LoginBody = z.infer<typeof loginBody>;

export const id = z.uuid();

export const streamIdParams = z.object({ streamId: id });
export const usernameParams = z.object({
  username: z.string().min(1).max(LIMITS.usernameMax).refine(isSingleLine, {
    message: textMessages.singleLine,
  }),
});
export const userIdParams = z.object({ userId: id });
/** A WHIP or WHEP session's resource. */
export const whipSessionParams = z.object({ streamId: id, sessionId: id });

/** `GET /api/live/:streamId/thumbnail`: `v` names the upload wanted, `sig` a signed link's. */
export const thumbnailQuery = z.object({
  v: z.string().max(100).optional(),
  sig: z.string().max(100).optional(),
});

const tag = singleLineText().min(1).max(LIMITS.tagMax);

/** `GET /api/tags/:tag/streams`: one tag, as a stream's tags are written. */
export const tagParams = z.object({ tag });

export const startStreamBody = z.object({
  title: singleLineText().min(1).max(LIMITS.titleMax),
  description: multiLineText().max(LIMITS.descriptionMax).optional().default(''),
  isPrivate: z.boolean().optional().default(false),
  /** Recorded for replay unless turned off. */
  record: z.boolean().optional().default(true),
  tags: z
    .array(tag)
    .max(LIMITS.tagsMax)
    .optional()
    .default([])
    // Tags differing only in case are one tag.
    .transform((tags) => [...new Map(tags.map((t) => [t.toLowerCase(), t])).values()]),
  thumbnail: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    // URL parsing drops tabs and newlines, so the URL check alone would let them be stored.
    .refine(isSingleLine, { message: textMessages.singleLine })
    .optional(),
});
export type StartStreamBody = z.infer<typeof startStreamBody>;

/**
 * `PUT /api/me/next-stream`: a stream started from OBS takes these. A missing or empty title
 * becomes "<display name> is live".
 */
export const nextStreamBody = z.object({
  title: singleLineText().max(LIMITS.titleMax).optional().default(''),
  description: startStreamBody.shape.description,
  isPrivate: startStreamBody.shape.isPrivate,
  record: startStreamBody.shape.record,
  tags: startStreamBody.shape.tags,
});
export type NextStreamBody = z.infer<typeof nextStreamBody>;

/** `PATCH /api/me`: what a user may change about themselves; at least one field. */
export const updateMeBody = z
  .object({
    displayName: displayName.optional(),
    bio: multiLineText().max(LIMITS.bioMax).nullable().optional(),
  })
  .refine((b) => b.displayName !== undefined || b.bio !== undefined, {
    message: 'Nothing to change',
  });
export type UpdateMeBody = z.infer<typeof updateMeBody>;

/**
 * Chat is one line, as in the web app's chat box. Everyone in the room reads it, so like a name
 * it refuses what reorders or hides words.
 */
export const commentText = singleLineText()
  .min(1)
  .max(LIMITS.commentMax)
  .refine(hasNoDirectionOrTags, { message: textMessages.directionOrTags });
export const commentBody = z.object({ comment: commentText });

export const commentHistoryQuery = z.object({
  limit: z.coerce.number().int().min(1).max(LIMITS.commentPageMax).optional().default(50),
  /** A comment id from a previous page's `nextBefore`. */
  before: id.optional(),
});

export const streamRef = z.object({ streamId: id });
export type StreamRef = z.infer<typeof streamRef>;

/**
 * `join_live`. A client rejoining after its connection dropped names the last comment it has, and
 * the ack carries the ones stored since (`JoinResult.missedComments`).
 */
export const joinLivePayload = z.object({
  streamId: id,
  sinceCommentId: id.optional(),
  /**
   * A signed-in join: the ids this device watched the stream under before signing in (its
   * anonymous sockets'), so the stream's unique viewers count that person once.
   */
  formerAnonymousIds: z
    .array(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/))
    .max(LIMITS.formerAnonymousIdsMax)
    .optional(),
});
export type JoinLivePayload = z.infer<typeof joinLivePayload>;

export const liveCommentPayload = z.object({ streamId: id, comment: commentText });
export type LiveCommentPayload = z.infer<typeof liveCommentPayload>;

export const liveReactionPayload = z.object({ streamId: id, reaction: z.enum(REACTIONS) });
export type LiveReactionPayload = z.infer<typeof liveReactionPayload>;

/** SDP is lines of text (RFC 8866 §5): CRLF, and no other control characters. */
export const sdpText = z
  .string()
  .min(1)
  .max(LIMITS.sdpMax)
  .refine(isMultiLine, { message: textMessages.multiLine });

export const sessionDescription = z.object({
  type: z.enum(['offer', 'answer']),
  sdp: sdpText,
});
export type SessionDescription = z.infer<typeof sessionDescription>;

const describedAs = <T extends SessionDescription['type']>(type: T) =>
  z.object({ type: z.literal(type), sdp: sdpText });

/**
 * What a viewer asks for: `auto` follows its network; `high`, `medium` and `low` are ceilings
 * (the top, middle and lowest layer the broadcaster sends), below which the server still steps
 * down rather than let the picture freeze.
 */
export const QUALITY_CHOICES = ['auto', 'high', 'medium', 'low'] as const;
export const qualityChoice = z.enum(QUALITY_CHOICES);
export type QualityChoice = z.infer<typeof qualityChoice>;

/** `?quality=` on a WHEP URL; `auto` when absent. */
export const whepQuery = z.object({ quality: qualityChoice.default('auto') });

/** A signed grant to a private stream's HLS files or a recording's download (`?token=`). */
export const mediaTokenQuery = z.object({
  token: z.string().max(1000).optional(),
  /** The player is already counted (see `presentHlsUrl`). */
  present: z.literal('1').optional(),
});

/** One file of a stream's HLS packaging: a rendition's playlist, init segment or media segment. */
export const hlsFileParams = z.object({
  streamId: id,
  rendition: z.string().regex(/^r[0-9]$/, 'Unknown rendition'),
  file: z
    .string()
    .regex(
      /^(index\.m3u8|init-[0-9]{1,4}\.mp4|seg-[0-9]{1,4}-[0-9]{1,7}\.m4s)$/,
      'Unknown HLS file',
    ),
});

/**
 * `live_offer`: a broadcaster's offer to publish, or a viewer's bare `{ streamId }` asking the
 * server to offer. A payload with a description is an offer and must be a valid one: it is never
 * read as a bare request to watch.
 */
export const liveOfferPayload = z.union([
  z.object({ streamId: id, description: describedAs('offer') }),
  z.strictObject({ streamId: id, quality: qualityChoice.optional() }),
]);
export type LiveOfferPayload = z.infer<typeof liveOfferPayload>;

/** `live_quality`: a viewer's choice for its session of a stream, applied at once. */
export const liveQualityPayload = z.object({ streamId: id, quality: qualityChoice });
export type LiveQualityPayload = z.infer<typeof liveQualityPayload>;

/** `live_answer`: a viewer's answer to the server's offer. */
export const liveAnswerPayload = z.object({ streamId: id, description: describedAs('answer') });
export type LiveAnswerPayload = z.infer<typeof liveAnswerPayload>;

const sdpToken = (max: number) =>
  z.string().max(max).refine(isSingleLine, { message: textMessages.singleLine });

export const iceCandidate = z.object({
  candidate: sdpToken(LIMITS.candidateMax),
  sdpMid: sdpToken(64).nullable().optional(),
  sdpMLineIndex: z.number().int().min(0).max(64).nullable().optional(),
  usernameFragment: sdpToken(256).nullable().optional(),
});
export type IceCandidate = z.infer<typeof iceCandidate>;

export const liveIceCandidatePayload = z.object({
  streamId: id,
  /** `publish` for the broadcaster's connection, `watch` for a viewer's. */
  role: z.enum(['publish', 'watch']),
  /** null marks the end of candidates. */
  candidate: iceCandidate.nullable(),
});
export type LiveIceCandidatePayload = z.infer<typeof liveIceCandidatePayload>;

/** `live_media_state`: the broadcaster turned their camera or microphone on or off. */
export const liveMediaStatePayload = z.object({
  streamId: id,
  camera: z.boolean(),
  microphone: z.boolean(),
});
export type LiveMediaStatePayload = z.infer<typeof liveMediaStatePayload>;

/**
 * A word or phrase the host blocks from chat: matched whole, as a person reads it (whatever the
 * case, accents, look-alike letters or invisible characters).
 */
export const blockedWord = singleLineText().min(1).max(LIMITS.blockedWordMax);

const moderationActions = [
  z.object({ action: z.literal('delete_comment'), commentId: id }),
  z.object({
    action: z.literal('timeout'),
    userId: id,
    seconds: z.number().int().min(1).max(LIMITS.timeoutMaxSeconds),
  }),
  z.object({ action: z.literal('ban'), userId: id }),
  z.object({ action: z.literal('unban'), userId: id }),
  z.object({
    action: z.literal('slow_mode'),
    seconds: z.number().int().min(0).max(LIMITS.slowModeMaxSeconds),
  }),
  z.object({
    action: z.literal('blocked_words'),
    words: z
      .array(blockedWord)
      .max(LIMITS.blockedWordsMax)
      // Words differing only in case are one word.
      .transform((words) => [...new Map(words.map((w) => [w.toLowerCase(), w])).values()]),
  }),
  z.object({ action: z.literal('add_moderator'), userId: id }),
  z.object({ action: z.literal('remove_moderator'), userId: id }),
] as const;

/** `POST /api/live/:streamId/moderation`: one action. */
export const moderationAction = z.discriminatedUnion('action', moderationActions);
export type ModerationActionBody = z.infer<typeof moderationAction>;

/** `live_moderate`: one action and the stream it is taken on. */
export const liveModeratePayload = z.intersection(streamRef, moderationAction);
export type LiveModeratePayload = z.infer<typeof liveModeratePayload>;

export const moderationHistoryQuery = z.object({
  limit: z.coerce.number().int().min(1).max(LIMITS.moderationPageMax).optional().default(50),
  /** A log entry id from a previous page's `nextBefore`. */
  before: id.optional(),
});

/** `GET /api/me/notifications`. */
export const notificationsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(LIMITS.notificationPageMax).optional().default(20),
  /** A previous page's `nextBefore` (the oldest one's time). */
  before: z.iso.datetime({ offset: true }).optional(),
});

/**
 * `POST /api/me/notifications/read`: the listed ones, every one up to a time (`before`, inclusive:
 * the newest one the user has seen), or all of them.
 */
export const markNotificationsReadBody = z.union([
  z.object({ ids: z.array(id).min(1).max(LIMITS.notificationPageMax) }).strict(),
  z.object({ before: z.iso.datetime({ offset: true }) }).strict(),
  z.object({ all: z.literal(true) }).strict(),
]);
export type MarkNotificationsReadBody = z.infer<typeof markNotificationsReadBody>;

/** `GET /api/users/:userId/avatar`: `?v=` names the upload, so a cached copy is never stale. */
export const avatarQuery = z.object({ v: z.string().max(100).optional() });
