import type { ChatRole, ChatState } from '@onair/protocol';

/**
 * Someone's part in a stream's chat. Only the host is told apart for now: moderators and chat
 * rules (slow mode, timeouts) come with moderation, which replaces these two functions.
 */
export const chatRoleOf = (hostId: string, userId: string | undefined): ChatRole =>
  userId === hostId ? 'host' : 'viewer';

/** The chat as `role` sees it on joining: no rules yet, so open to everyone. */
export const chatStateFor = (role: ChatRole): ChatState => ({
  slowModeSeconds: 0,
  role,
  timedOutUntil: null,
});
