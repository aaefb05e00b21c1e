import { describeIssues } from '@onair/protocol';
import type { z } from 'zod';
import { AppError } from '../live/errors';

/** Parses untrusted input at the edge; anything that does not fit is a 400 that changes nothing. */
export function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw AppError.invalidInput(describeIssues(result.error));
  return result.data;
}
