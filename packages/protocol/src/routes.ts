/**
 * Every REST route the server serves, in one table, as `clientEvents` is for sockets: the server
 * registers each handler against its entry (`server/src/http/rest.ts`) and the web app's one
 * client calls routes by name (`web/src/lib/api.ts`), so a path, a body or an answer cannot
 * drift apart (`server/test/rest-contract.test.ts` checks the table against what is served).
 *
 * To add a route:
 *   1. an entry here: `name: route('POST', '/api/things/:thingId', { auth: 'required',
 *      params: thingIdParams, body: thingBody }).json<Thing>()` (`.raw(...)` when the answer is
 *      not JSON: an image, SDP, or nothing; `params` is required exactly when the path has some);
 *   2. its handler, by the same name, in its feature's router:
 *      `restRoutes(tokens, { name: async ({ params, body, actor }) => thing })`; the path, who
 *      may call, the parsing and the answer's type and status come from the entry;
 *   3. mount that router in `server.ts` (no path: the table's paths are whole);
 *   4. on the web, `call('name', { params, body, token })`.
 * Order matters only where Express would take a literal segment for a `:param`
 * (`/api/live/active` before `/api/live/:streamId`): routers and handlers register in order.
 */
import type { z } from 'zod';
import { AVATAR_TYPES, THUMBNAIL_TYPES } from './paths';
import {
  commentBody,
  avatarQuery,
  commentHistoryQuery,
  loginBody,
  markNotificationsReadBody,
  mediaTokenQuery,
  hlsFileParams,
  moderationAction,
  moderationHistoryQuery,
  nextStreamBody,
  notificationsQuery,
  registerBody,
  startStreamBody,
  streamIdParams,
  tagParams,
  thumbnailQuery,
  updateMeBody,
  userIdParams,
  usernameParams,
  whipSessionParams,
  whepQuery,
} from './schemas';
import type {
  AuthResponse,
  CommentPage,
  HealthReport,
  IceServer,
  LiveComment,
  NotificationPage,
  NotificationsReadResult,
  ModerationResult,
  ModerationView,
  MyRecordings,
  NextStreamSettings,
  ProfilePage,
  ReadyReport,
  StartedStream,
  Stream,
  StreamDetails,
  StreamKeyInfo,
  StreamSummary,
  TagStreams,
  ThumbnailResult,
  User,
  UserProfile,
  ViewResult,
} from './types';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * Who may call a route. `required`: a signed-in user's token (else 401); `optional`: anyone, but
 * a token that is sent must be valid; `none`: no token is read (sign-in, health);
 * `stream-key`: WHIP's Bearer stream key (or the host's own token), checked by the handler.
 */
export type RouteAuth = 'required' | 'optional' | 'none' | 'stream-key';

/** A request body that is not JSON: its allowed media types (an image, SDP). */
export interface RawBody {
  readonly raw: readonly string[];
}

/** What a route answers on success: JSON (typed by the entry), or a raw body, or nothing. */
/** `media`: a playlist, a segment or a recording, written by the handler with its own type. */
export type RouteAnswer = 'json' | 'image' | 'sdp' | 'empty' | 'media';

/** The `:name` segments of a path. */
export type PathParamNames<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | PathParamNames<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;

declare const responseType: unique symbol;

/** One REST route. `R` (a type only) is what its JSON answer carries on success. */
export interface RestRoute<
  M extends HttpMethod = HttpMethod,
  P extends string = string,
  A extends RouteAuth = RouteAuth,
  Params extends z.ZodType | undefined = z.ZodType | undefined,
  Query extends z.ZodType | undefined = z.ZodType | undefined,
  Body extends z.ZodType | RawBody | undefined = z.ZodType | RawBody | undefined,
  R = unknown,
> {
  readonly method: M;
  readonly path: P;
  readonly auth: A;
  /** Checks the path's `:params`; every route with params has one. */
  readonly params: Params;
  readonly query: Query;
  readonly body: Body;
  readonly answers: RouteAnswer;
  /** The status of a success. */
  readonly status: number;
  readonly [responseType]?: R;
}

/** `params` is required exactly when the path has `:params`, and must check each of them. */
type ParamsSpec<P extends string, Params> = [PathParamNames<P>] extends [never]
  ? { params?: undefined }
  : { params: Params & z.ZodType<Record<PathParamNames<P>, string>> };

type RouteSpec<P extends string, A, Params, Query, Body> = ParamsSpec<P, Params> & {
  auth: A;
  query?: Query;
  body?: Body;
  /** The status of a success; default 200. */
  status?: number;
};

function route<
  M extends HttpMethod,
  P extends string,
  A extends RouteAuth,
  Params extends z.ZodType | undefined = undefined,
  Query extends z.ZodType | undefined = undefined,
  Body extends z.ZodType | RawBody | undefined = undefined,
>(method: M, path: P, spec: RouteSpec<P, A, Params, Query, Body>) {
  const entry = (answers: RouteAnswer) => ({
    method,
    path,
    auth: spec.auth,
    params: spec.params as Params,
    query: spec.query as Query,
    body: spec.body as Body,
    answers,
    status: spec.status ?? 200,
  });
  return {
    /** The answer is JSON of type `R`. */
    json: <R>(): RestRoute<M, P, A, Params, Query, Body, R> => entry('json'),
    /** The answer is not JSON: the handler writes it. */
    raw: (answers: Exclude<RouteAnswer, 'json'>): RestRoute<M, P, A, Params, Query, Body, never> =>
      entry(answers),
  };
}

const sdp: RawBody = { raw: ['application/sdp'] };
const sdpFragment: RawBody = { raw: ['application/trickle-ice-sdpfrag'] };

export const routes = {
  // Accounts (`/api/auth`).
  register: route('POST', '/api/auth/register', {
    auth: 'none',
    body: registerBody,
    status: 201,
  }).json<AuthResponse>(),
  login: route('POST', '/api/auth/login', { auth: 'none', body: loginBody }).json<AuthResponse>(),
  authMe: route('GET', '/api/auth/me', { auth: 'required' }).json<{ user: User }>(),

  // The signed-in user's own settings (`/api/me`).
  /** Answers the user itself, not `{ user }`. */
  updateMe: route('PATCH', '/api/me', { auth: 'required', body: updateMeBody }).json<User>(),
  streamKey: route('GET', '/api/me/stream-key', { auth: 'required' }).json<StreamKeyInfo>(),
  rotateStreamKey: route('POST', '/api/me/stream-key/rotate', {
    auth: 'required',
  }).json<StreamKeyInfo>(),
  nextStream: route('GET', '/api/me/next-stream', { auth: 'required' }).json<NextStreamSettings>(),
  saveNextStream: route('PUT', '/api/me/next-stream', {
    auth: 'required',
    body: nextStreamBody,
  }).json<NextStreamSettings>(),

  /** Any declared type: what the picture is, the server tells from its bytes (else 415). */
  uploadAvatar: route('PUT', '/api/me/avatar', {
    auth: 'required',
    body: { raw: [...AVATAR_TYPES, 'image/*', 'application/octet-stream'] },
  }).json<User>(),
  removeAvatar: route('DELETE', '/api/me/avatar', { auth: 'required' }).json<User>(),
  notifications: route('GET', '/api/me/notifications', {
    auth: 'required',
    query: notificationsQuery,
  }).json<NotificationPage>(),
  markNotificationsRead: route('POST', '/api/me/notifications/read', {
    auth: 'required',
    body: markNotificationsReadBody,
  }).json<NotificationsReadResult>(),
  /** Live streams of hosts the user follows (the home page's Following row). */
  followingLive: route('GET', '/api/me/following/live', { auth: 'required' }).json<Stream[]>(),

  // Profiles and follows (`/api/users`). By username before `:userId`.
  profilePage: route('GET', '/api/users/by-username/:username', {
    auth: 'optional',
    params: usernameParams,
  }).json<ProfilePage>(),
  userProfile: route('GET', '/api/users/:userId', {
    auth: 'optional',
    params: userIdParams,
  }).json<UserProfile>(),
  avatar: route('GET', '/api/users/:userId/avatar', {
    auth: 'none',
    params: userIdParams,
    query: avatarQuery,
  }).raw('image'),
  follow: route('POST', '/api/users/:userId/follow', {
    auth: 'required',
    params: userIdParams,
  }).json<UserProfile>(),
  unfollow: route('DELETE', '/api/users/:userId/follow', {
    auth: 'required',
    params: userIdParams,
  }).json<UserProfile>(),

  // ICE servers for media connections; anonymous callers get no TURN entries.
  iceServers: route('GET', '/api/live/ice-servers', { auth: 'optional' }).json<{
    iceServers: IceServer[];
  }>(),

  // WHIP ingest (RFC 9725) and WHEP playback: SDP in, SDP out. `OPTIONS` (CORS) on each.
  userWhip: route('POST', '/api/live/whip', {
    auth: 'stream-key',
    body: sdp,
    status: 201,
  }).raw('sdp'),
  whip: route('POST', '/api/live/:streamId/whip', {
    auth: 'stream-key',
    params: streamIdParams,
    body: sdp,
    status: 201,
  }).raw('sdp'),
  whep: route('POST', '/api/live/:streamId/whep', {
    auth: 'optional',
    params: streamIdParams,
    query: whepQuery,
    body: sdp,
    status: 201,
  }).raw('sdp'),
  endWhip: route('DELETE', '/api/live/:streamId/whip/:sessionId', {
    auth: 'stream-key',
    params: whipSessionParams,
  }).raw('empty'),
  endWhep: route('DELETE', '/api/live/:streamId/whep/:sessionId', {
    auth: 'optional',
    params: whipSessionParams,
  }).raw('empty'),
  trickleWhip: route('PATCH', '/api/live/:streamId/whip/:sessionId', {
    auth: 'stream-key',
    params: whipSessionParams,
    body: sdpFragment,
    status: 204,
  }).raw('empty'),
  trickleWhep: route('PATCH', '/api/live/:streamId/whep/:sessionId', {
    auth: 'optional',
    params: whipSessionParams,
    body: sdpFragment,
    status: 204,
  }).raw('empty'),

  // GET on a WHIP or WHEP resource: it has no representation, so a success with no content
  // (RFC 9725 §4.1); WHEP's endpoint names the type it takes, for players' discovery (WHEP §4.2).
  // Any other method gets 405 with `Allow`.
  probeUserWhip: route('GET', '/api/live/whip', { auth: 'none', status: 204 }).raw('empty'),
  probeWhip: route('GET', '/api/live/:streamId/whip', {
    auth: 'none',
    params: streamIdParams,
    status: 204,
  }).raw('empty'),
  probeWhep: route('GET', '/api/live/:streamId/whep', {
    auth: 'none',
    params: streamIdParams,
  }).raw('empty'),
  probeWhipSession: route('GET', '/api/live/:streamId/whip/:sessionId', {
    auth: 'none',
    params: whipSessionParams,
    status: 204,
  }).raw('empty'),
  probeWhepSession: route('GET', '/api/live/:streamId/whep/:sessionId', {
    auth: 'none',
    params: whipSessionParams,
    status: 204,
  }).raw('empty'),

  // Thumbnails: JPEG or WebP, checked by their bytes.
  uploadThumbnail: route('PUT', '/api/live/:streamId/thumbnail', {
    auth: 'required',
    params: streamIdParams,
    body: { raw: THUMBNAIL_TYPES },
  }).json<ThumbnailResult>(),
  thumbnail: route('GET', '/api/live/:streamId/thumbnail', {
    auth: 'optional',
    params: streamIdParams,
    query: thumbnailQuery,
  }).raw('image'),

  // Recordings and HLS: live packaging while live, the replay after. Private streams' files
  // need the signed `?token=` that `GET /api/live/:streamId` gives an allowed caller.
  hlsPlaylist: route('GET', '/api/live/:streamId/hls/index.m3u8', {
    auth: 'optional',
    params: streamIdParams,
    query: mediaTokenQuery,
  }).raw('media'),
  hlsFile: route('GET', '/api/live/:streamId/hls/:rendition/:file', {
    auth: 'optional',
    params: hlsFileParams,
    query: mediaTokenQuery,
  }).raw('media'),
  webmReplay: route('GET', '/api/live/:streamId/recording.webm', {
    auth: 'optional',
    params: streamIdParams,
    query: mediaTokenQuery,
  }).raw('media'),
  downloadRecording: route('GET', '/api/live/:streamId/recording.mp4', {
    auth: 'optional',
    params: streamIdParams,
    query: mediaTokenQuery,
  }).raw('media'),
  deleteRecording: route('DELETE', '/api/live/:streamId/recording', {
    auth: 'required',
    params: streamIdParams,
  }).raw('empty'),
  myRecordings: route('GET', '/api/me/recordings', { auth: 'required' }).json<MyRecordings>(),

  // Moderation: an action (also `live_moderate` on the socket), the state and the log.
  moderate: route('POST', '/api/live/:streamId/moderation', {
    auth: 'required',
    params: streamIdParams,
    body: moderationAction,
  }).json<ModerationResult>(),
  moderation: route('GET', '/api/live/:streamId/moderation', {
    auth: 'required',
    params: streamIdParams,
    query: moderationHistoryQuery,
  }).json<ModerationView>(),

  // Streams. Literal segments before `:streamId`.
  startStream: route('POST', '/api/live/start', {
    auth: 'required',
    body: startStreamBody,
    status: 201,
  }).json<StartedStream>(),
  endStream: route('POST', '/api/live/end/:streamId', {
    auth: 'required',
    params: streamIdParams,
  }).json<Stream>(),
  activeStreams: route('GET', '/api/live/active', { auth: 'optional' }).json<Stream[]>(),
  userStreams: route('GET', '/api/live/user/:userId', {
    auth: 'optional',
    params: userIdParams,
  }).json<Stream[]>(),
  stream: route('GET', '/api/live/:streamId', {
    auth: 'optional',
    params: streamIdParams,
  }).json<StreamDetails>(),
  /** The host's end screen; it works while live too. */
  summary: route('GET', '/api/live/:streamId/summary', {
    auth: 'required',
    params: streamIdParams,
  }).json<StreamSummary>(),
  /** A lease: the viewer counts for `leaseSeconds` and renews by calling `view` again. */
  view: route('POST', '/api/live/:streamId/view', {
    auth: 'required',
    params: streamIdParams,
  }).json<ViewResult>(),
  leave: route('POST', '/api/live/:streamId/leave', {
    auth: 'required',
    params: streamIdParams,
  }).json<{ success: true }>(),
  comments: route('GET', '/api/live/:streamId/comments', {
    auth: 'optional',
    params: streamIdParams,
    query: commentHistoryQuery,
  }).json<CommentPage>(),
  comment: route('POST', '/api/live/:streamId/comment', {
    auth: 'required',
    params: streamIdParams,
    body: commentBody,
    status: 201,
  }).json<LiveComment>(),

  /** Live streams with the tag, then ended ones, each only if the caller may see it. */
  tagStreams: route('GET', '/api/tags/:tag/streams', {
    auth: 'optional',
    params: tagParams,
  }).json<TagStreams>(),

  // For monitors and load balancers (503 while not serving, with the same JSON).
  health: route('GET', '/api/health', { auth: 'none' }).json<HealthReport>(),
  ready: route('GET', '/api/ready', { auth: 'none' }).json<ReadyReport>(),
} as const;

export type Routes = typeof routes;
export type RouteName = keyof Routes;

/** What a route's JSON answer carries on success. */
export type ResponseOf<R extends RestRoute> = Exclude<R[typeof responseType], undefined>;

/** A path with its `:params` filled in, each encoded as one segment. */
export function pathOf<P extends string>(
  path: P,
  params: Record<PathParamNames<P>, string>,
): string {
  return path.replace(/:(\w+)/g, (_, name: string) =>
    encodeURIComponent((params as Record<string, string>)[name] ?? ''),
  );
}

/** What a caller sends a route (inputs, before the server's schemas apply their defaults). */
export type RequestOf<R extends RestRoute> = ([PathParamNames<R['path']>] extends [never]
  ? { params?: undefined }
  : { params: Record<PathParamNames<R['path']>, string> }) &
  (R['query'] extends z.ZodType ? { query?: z.input<R['query']> } : { query?: undefined }) &
  (R['body'] extends z.ZodType
    ? { body: z.input<R['body']> }
    : R['body'] extends RawBody
      ? { body: Blob }
      : { body?: undefined });

/** The routes that answer JSON (what the web app's client calls). */
export type JsonRouteName = {
  [N in RouteName]: [ResponseOf<Routes[N]>] extends [never] ? never : N;
}[RouteName];
