import { LIMITS } from '@onair/protocol';

/**
 * What each form field accepts, in plain words computed from the protocol's `LIMITS`, so a form
 * never shows a validator's own text ("Too small: expected string to have >=3 characters").
 * `missing` is what an empty required field says instead of the rule.
 */
export const fieldRules = {
  username: {
    rule: `Usernames are ${LIMITS.usernameMin} to ${LIMITS.usernameMax} characters: letters, digits and _.`,
    missing: 'Enter your username.',
  },
  password: {
    rule: `Passwords are ${LIMITS.passwordMin} to ${LIMITS.passwordMax} characters, on one line.`,
    missing: 'Enter your password.',
  },
  displayName: {
    rule: `Display names are 1 to ${LIMITS.displayNameMax} characters, with no invisible or control characters.`,
    missing: 'Enter a display name.',
  },
  bio: { rule: `Bios are at most ${LIMITS.bioMax} characters.`, missing: undefined },
  title: {
    rule: `Titles are 1 to ${LIMITS.titleMax} characters, on one line.`,
    missing: 'Give your stream a title.',
  },
  description: {
    rule: `Descriptions are at most ${LIMITS.descriptionMax} characters.`,
    missing: undefined,
  },
  tags: {
    rule: `Up to ${LIMITS.tagsMax} tags, each 1 to ${LIMITS.tagMax} characters on one line.`,
    missing: undefined,
  },
  comment: {
    rule: `Messages are 1 to ${LIMITS.commentMax} characters, on one line.`,
    missing: 'Write a message first.',
  },
} as const satisfies Record<string, { rule: string; missing: string | undefined }>;

export type RuledField = keyof typeof fieldRules;

/** The part of a zod issue these messages need (zod's own types, structurally). */
interface Issue {
  path: PropertyKey[];
  code: string;
}

/** Any schema with zod's `safeParse`. */
interface Checkable {
  safeParse(value: unknown): { success: true } | { success: false; error: { issues: Issue[] } };
}

const isEmpty = (value: unknown) =>
  value === undefined || value === null || (typeof value === 'string' && value.trim() === '');

/**
 * Checks `values` with a shared schema and gives each failing top-level field one plain sentence
 * (the first issue of a field decides it). An empty object when everything passes.
 */
export function fieldErrors<F extends string>(
  schema: Checkable,
  values: Record<F, unknown>,
): Partial<Record<F, string>> {
  const result = schema.safeParse(values);
  if (result.success) return {};
  const errors: Partial<Record<F, string>> = {};
  for (const issue of result.error.issues) {
    const field = issue.path[0];
    if (typeof field !== 'string' || !(field in values)) continue;
    const key = field as F;
    if (errors[key]) continue;
    const rules = (fieldRules as Record<string, { rule: string; missing: string | undefined }>)[
      field
    ];
    if (!rules) {
      errors[key] = 'Check this field.';
      continue;
    }
    errors[key] = isEmpty(values[key]) && rules.missing ? rules.missing : rules.rule;
  }
  return errors;
}
