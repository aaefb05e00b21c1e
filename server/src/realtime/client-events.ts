import {
  ANONYMOUS_EVENTS,
  clientEvents,
  describeIssues,
  type Ack,
  type AckResult,
  type ClientEventName,
  type ErrorBody,
  type ParsedPayload,
} from '@onair/protocol';
import type { Logger } from 'pino';
import { asUnavailable } from '../live/unavailable';
import { AppError } from '../live/errors';
import type { Metrics } from '../observability/Metrics';
import type { LiveSocket } from './types';

/**
 * One handler per client event: it gets the socket and the parsed payload and resolves with what
 * the ack carries. Handlers are made once per server and shared by every socket (each socket's
 * own state lives on the socket), so a connected socket costs no closures of its own.
 */
export type ClientEventHandlers = {
  [E in ClientEventName]: (socket: LiveSocket, payload: ParsedPayload<E>) => Promise<AckResult<E>>;
};

interface HandlerContext {
  logger: Logger;
  metrics: Metrics;
}

type AnonymousEvent = (typeof ANONYMOUS_EVENTS)[number];

const anonymousEvents = new Set<ClientEventName>(ANONYMOUS_EVENTS);

/** What an anonymous socket is told when it sends an event only users may send. */
const signInTo: Record<Exclude<ClientEventName, AnonymousEvent>, string> = {
  start_live: 'Sign in to go live',
  end_live: 'Sign in to go live',
  live_media_state: 'Sign in to go live',
  live_comment: 'Sign in to chat',
  live_reaction: 'Sign in to react',
  live_moderate: 'Sign in to moderate',
  viewer_list: 'Sign in to go live',
};

const isAnonymousEvent = (event: ClientEventName): event is AnonymousEvent =>
  anonymousEvents.has(event);

/**
 * Why an anonymous socket may not send this, or undefined when it may: it may send watching
 * events only, and of those not the ones that publish (an offer with a description, a
 * publisher's ICE candidate), which can be told once the payload is parsed.
 */
function refusedToAnonymous<E extends ClientEventName>(
  event: E,
  payload: ParsedPayload<E> | undefined,
): string | undefined {
  if (!isAnonymousEvent(event)) return signInTo[event as Exclude<ClientEventName, AnonymousEvent>];
  if (payload === undefined) return undefined;
  const publishes =
    (event === 'live_offer' && 'description' in payload) ||
    (event === 'live_ice_candidate' && 'role' in payload && payload.role === 'publish');
  return publishes ? signInTo.start_live : undefined;
}

export function toErrorBody(error: unknown, logger: Logger): ErrorBody {
  if (error instanceof AppError) return error.toBody();
  const unavailable = asUnavailable(error);
  if (unavailable) {
    logger.warn({ err: error }, 'database unavailable');
    return unavailable.toBody();
  }
  logger.error({ err: error }, 'socket handler failed');
  return { code: 'internal', message: 'Something went wrong on our side' };
}

/**
 * Makes sockets answer the protocol's table of client events with `handlers`: the type asks for
 * a handler for every event in it, each payload is parsed with its event's schema, and the
 * result, or the error, goes back in the acknowledgement. A client that sends no ack function
 * still gets the work done; events outside the table are ignored. This is the one place an
 * anonymous socket is held to watching (`ANONYMOUS_EVENTS`): anything else is refused with
 * `unauthorized` before a handler runs.
 *
 * Returns the one listener for every socket's client events (`RealtimeServer.onClientEvent`):
 * a socket holds no listeners of its own, since a stream's room holds thousands of mostly idle
 * sockets (issue 11).
 */
export function clientEventDispatcher(
  context: HandlerContext,
  handlers: ClientEventHandlers,
): (socket: LiveSocket, event: string, args: unknown[]) => void {
  const { logger } = context;
  return (socket, event, args) => {
    if (!Object.hasOwn(clientEvents, event)) return;
    // The ack comes last: a client that sent no payload, or extra arguments, still gets its
    // answer (an invalid_input one) instead of a timeout.
    const ack = typeof args.at(-1) === 'function' ? args.at(-1) : undefined;
    const raw = args[0] === ack ? undefined : args[0];
    respond(socket, context, event as ClientEventName, handlers, raw, ack).catch((err: unknown) =>
      logger.error({ err, event }, 'could not acknowledge a socket event'),
    );
  };
}

async function run<E extends ClientEventName>(
  socket: LiveSocket,
  event: E,
  handler: ClientEventHandlers[E],
  raw: unknown,
): Promise<AckResult<E>> {
  const anonymous = socket.data.anonymous;
  const refuse = (payload: ParsedPayload<E> | undefined) => {
    const refusal = refusedToAnonymous(event, payload);
    if (refusal) throw AppError.unauthorized(refusal);
  };
  if (anonymous) refuse(undefined);
  const parsed = clientEvents[event].payload.safeParse(raw);
  if (!parsed.success) throw AppError.invalidInput(describeIssues(parsed.error));
  // The table pairs each event with its schema, so this is E's payload; TypeScript cannot
  // follow that pairing through a generic index.
  const payload = parsed.data as ParsedPayload<E>;
  if (anonymous) refuse(payload);
  return handler(socket, payload);
}

async function respond<E extends ClientEventName>(
  socket: LiveSocket,
  { logger, metrics }: HandlerContext,
  event: E,
  handlers: ClientEventHandlers,
  raw: unknown,
  ack: unknown,
): Promise<void> {
  const reply =
    typeof ack === 'function' ? (ack as (response: Ack<AckResult<E>>) => void) : undefined;
  try {
    const result = await run(socket, event, handlers[event], raw);
    metrics.socketEvents.inc({ event, outcome: 'ok' });
    reply?.({ ok: true, ...result });
  } catch (error) {
    const body = toErrorBody(error, logger);
    metrics.socketEvents.inc({ event, outcome: body.code });
    reply?.({ ok: false, error: body });
  }
}
