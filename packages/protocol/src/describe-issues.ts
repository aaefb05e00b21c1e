import type { z } from 'zod';

/**
 * Zod's issues in one line a person can act on, e.g.
 * `title: Too big: expected string to have <=200 characters`. At most five are named.
 */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}
