import type { ModerationLogEntry } from '@onair/protocol';

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** A short length of time for buttons and the log: "60 s", "10 min", "2 h", "3 days". */
export function shortDuration(seconds: number): string {
  if (seconds < 60 || seconds % 60 !== 0) return `${seconds} s`;
  if (seconds < 3600 || seconds % 3600 !== 0) return `${seconds / 60} min`;
  if (seconds < 86_400 || seconds % 86_400 !== 0) return `${seconds / 3600} h`;
  return plural(seconds / 86_400, 'day');
}

/** Time left in words, rounded up so it never says 0 while there is some: "3 more minutes". */
export function timeLeft(seconds: number): string {
  if (seconds < 60) return plural(seconds, 'more second');
  if (seconds < 3600) return plural(Math.ceil(seconds / 60), 'more minute');
  if (seconds < 86_400) return plural(Math.ceil(seconds / 3600), 'more hour');
  return plural(Math.ceil(seconds / 86_400), 'more day');
}

const who = (entry: ModerationLogEntry) => (entry.target ? `@${entry.target.username}` : 'someone');

/** One line of the moderation log, without its actor: "timed out @ben for 10 min". */
export function describeAction(entry: ModerationLogEntry): string {
  const action = entry.action;
  switch (action.action) {
    case 'delete_comment':
      return `deleted a message by ${who(entry)}`;
    case 'timeout':
      return `timed out ${who(entry)} for ${shortDuration(action.seconds)}`;
    case 'ban':
      return `banned ${who(entry)}`;
    case 'unban':
      return `unbanned ${who(entry)}`;
    case 'slow_mode':
      return action.seconds === 0
        ? 'turned slow mode off'
        : `set slow mode to one message every ${shortDuration(action.seconds)}`;
    case 'blocked_words':
      return action.words.length === 0
        ? 'cleared the blocked words'
        : `set the blocked words (${action.words.length})`;
    case 'add_moderator':
      return `made ${who(entry)} a moderator`;
    case 'remove_moderator':
      return `removed ${who(entry)} as a moderator`;
  }
}
