import { pino, type Logger } from 'pino';
import { censor, redactPaths, safeSerializers } from './redaction';

const redact = { paths: redactPaths, censor };

/** A process's logger (the server's, a media worker's) with secrets kept out of every line. */
export function createLogger(level: string, base: Record<string, unknown>): Logger {
  return pino({ level, base, redact, serializers: safeSerializers });
}

/**
 * The same protection over a logger someone else made (tests pass their own, writing where they
 * want): a child that redacts and serializes errors as `createLogger`'s do.
 */
export function withSafeSerializers(logger: Logger): Logger {
  return logger.child({}, { redact, serializers: safeSerializers });
}
