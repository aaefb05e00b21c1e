import type { z } from 'zod';
import { AppError } from '../live/errors';

/** Describes zod issues in one line a client can act on, e.g. `title: Too big: expected string to have <=200 characters`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}

/** Parses untrusted input at the edge; anything that does not fit is a 400 that changes nothing. */
export function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw AppError.invalidInput(describeIssues(result.error));
  return result.data;
}
