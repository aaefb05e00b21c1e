import { z } from 'zod';
import { REACTIONS } from './types';

/** Limits shared by the server's validation and the web app's forms. */
export const LIMITS = {
  usernameMin: 3,
  usernameMax: 30,
  passwordMin: 8,
  passwordMax: 200,
  displayNameMax: 60,
  titleMax: 200,
  descriptionMax: 1000,
  tagMax: 30,
  tagsMax: 10,
  commentMax: 500,
  commentPageMax: 100,
  sdpMax: 64 * 1024,
  candidateMax: 2048,
} as const;

export const username = z
  .string()
  .regex(/^[a-zA-Z0-9_]+$/, 'letters, digits and _ only')
  .min(LIMITS.usernameMin)
  .max(LIMITS.usernameMax);

export const registerBody = z.object({
  username,
  password: z.string().min(LIMITS.passwordMin).max(LIMITS.passwordMax),
  displayName: z.string().trim().min(1).max(LIMITS.displayNameMax).optional(),
});
export type RegisterBody = z.infer<typeof registerBody>;

export const loginBody = z.object({
  username: z.string().min(1).max(LIMITS.usernameMax),
  password: z.string().min(1).max(LIMITS.passwordMax),
});
export type LoginBody = z.infer<typeof loginBody>;

export const id = z.uuid();

export const streamIdParams = z.object({ streamId: id });
export const userIdParams = z.object({ userId: id });

const tag = z.string().trim().min(1).max(LIMITS.tagMax);

export const startStreamBody = z.object({
  title: z.string().trim().min(1).max(LIMITS.titleMax),
  description: z.string().trim().max(LIMITS.descriptionMax).optional().default(''),
  isPrivate: z.boolean().optional().default(false),
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
    .optional(),
});
export type StartStreamBody = z.infer<typeof startStreamBody>;

export const commentText = z.string().trim().min(1).max(LIMITS.commentMax);
export const commentBody = z.object({ comment: commentText });

export const commentHistoryQuery = z.object({
  limit: z.coerce.number().int().min(1).max(LIMITS.commentPageMax).optional().default(50),
  /** A comment id from a previous page's `nextBefore`. */
  before: id.optional(),
});

export const streamRef = z.object({ streamId: id });
export type StreamRef = z.infer<typeof streamRef>;

export const liveCommentPayload = z.object({ streamId: id, comment: commentText });
export type LiveCommentPayload = z.infer<typeof liveCommentPayload>;

export const liveReactionPayload = z.object({ streamId: id, reaction: z.enum(REACTIONS) });
export type LiveReactionPayload = z.infer<typeof liveReactionPayload>;

export const sessionDescription = z.object({
  type: z.enum(['offer', 'answer']),
  sdp: z.string().min(1).max(LIMITS.sdpMax),
});
export type SessionDescription = z.infer<typeof sessionDescription>;

/** A broadcaster's offer to publish, or a viewer's answer to the server's offer. */
export const liveSdpPayload = z.object({
  streamId: id,
  description: sessionDescription,
});
export type LiveSdpPayload = z.infer<typeof liveSdpPayload>;

export const iceCandidate = z.object({
  candidate: z.string().max(LIMITS.candidateMax),
  sdpMid: z.string().max(64).nullable().optional(),
  sdpMLineIndex: z.number().int().min(0).max(64).nullable().optional(),
  usernameFragment: z.string().max(256).nullable().optional(),
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
