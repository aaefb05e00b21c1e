import type { Ack, ErrorBody } from '@onair/protocol';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { AppError } from '../live/errors';
import { parse } from '../http/validate';
import type { Metrics } from '../observability/Metrics';
import type { LiveSocket } from './types';

export function toErrorBody(error: unknown, logger: Logger): ErrorBody {
  if (error instanceof AppError) return error.toBody();
  logger.error({ err: error }, 'socket handler failed');
  return { code: 'internal', message: 'Something went wrong on our side' };
}

/**
 * Registers a client event whose payload is parsed with `schema` and whose result, or error,
 * goes back in the acknowledgement. A client that sends no ack function still gets the work done.
 */
export function onEvent<S extends z.ZodType, R extends object>(
  socket: LiveSocket,
  context: { logger: Logger; metrics: Metrics },
  event: string,
  schema: S,
  run: (payload: z.output<S>) => Promise<R>,
): void {
  const listener = async (raw: unknown, ack: unknown): Promise<void> => {
    const reply = typeof ack === 'function' ? (ack as (response: Ack<R>) => void) : undefined;
    try {
      const result = await run(parse(schema, raw));
      context.metrics.socketEvents.inc({ event, outcome: 'ok' });
      reply?.({ ok: true, ...result });
    } catch (error) {
      const body = toErrorBody(error, context.logger);
      context.metrics.socketEvents.inc({ event, outcome: body.code });
      reply?.({ ok: false, error: body });
    }
  };
  // Socket.IO's typed `on` cannot express a listener generic over the event; the payload is
  // validated above, so the untyped registration loses nothing.
  (socket as unknown as { on(event: string, listener: (...args: unknown[]) => void): void }).on(
    event,
    (raw, ack) => void listener(raw, ack),
  );
}
