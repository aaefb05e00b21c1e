import type { ModerationAction, PublicUser } from '@onair/protocol';
import { UserMinus, UserPlus } from 'lucide-react';
import { useId, useState } from 'react';
import { Avatar } from '../../components/Avatar';
import { Button } from '../../components/Button';
import { call } from '../../lib/api';
import { SectionStatus } from './SectionStatus';
import { useActionStatus } from './useActionStatus';

/**
 * The channel's moderators. The host adds one by username (looked up as a profile, since the
 * server takes ids) and removes them; moderators see the list.
 */
export function ModeratorsSection({
  moderators,
  isHost,
  token,
  act,
}: {
  moderators: PublicUser[];
  isHost: boolean;
  token: string;
  act: (action: ModerationAction) => Promise<unknown>;
}) {
  const inputId = useId();
  const [username, setUsername] = useState('');
  const { busy, error, done, run, fail } = useActionStatus();

  const add = async () => {
    const name = username.trim().replace(/^@/, '');
    if (!name) return fail('Enter the username of the person to make a moderator.');
    const ok = await run(
      async () => {
        const { user } = await call('profilePage', { params: { username: name }, token });
        await act({ action: 'add_moderator', userId: user.id });
      },
      `@${name} is a moderator now.`,
      { not_found: `No one is called @${name}.` },
    );
    if (ok) setUsername('');
  };

  return (
    <div className="flex flex-col gap-2 text-sm">
      {moderators.length === 0 ? (
        <p className="text-zinc-500">No moderators yet.</p>
      ) : (
        <ul className="flex flex-col gap-1" aria-label="Moderators">
          {moderators.map((m) => (
            <li key={m.id} className="flex min-w-0 items-center gap-2" data-testid="moderator">
              <Avatar user={m} size="h-6 w-6 text-xs" />
              <span className="min-w-0 flex-1 truncate">
                {m.display_name} <span className="text-zinc-500">@{m.username}</span>
              </span>
              {isHost && (
                <Button
                  type="button"
                  variant="ghost"
                  className="shrink-0 px-2 py-1 text-xs"
                  disabled={busy}
                  aria-label={`Remove @${m.username} as moderator`}
                  onClick={() =>
                    void run(
                      () => act({ action: 'remove_moderator', userId: m.id }),
                      `@${m.username} is no longer a moderator.`,
                    )
                  }
                >
                  <UserMinus className="h-3.5 w-3.5" aria-hidden /> Remove
                </Button>
              )}
            </li>
          ))}
        </ul>
      )}
      {isHost && (
        <form
          className="flex min-w-0 gap-2"
          onSubmit={(event) => {
            event.preventDefault();
            void add();
          }}
        >
          <label htmlFor={inputId} className="sr-only">
            Username of a new moderator
          </label>
          <input
            id={inputId}
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            placeholder="Username"
            autoCapitalize="none"
            autoCorrect="off"
            spellCheck={false}
            className="min-w-0 flex-1 rounded-lg border border-zinc-700 bg-zinc-900 px-3 py-1.5 text-base"
          />
          <Button
            type="submit"
            variant="secondary"
            disabled={busy}
            className="shrink-0 px-3 py-1.5 text-sm"
          >
            <UserPlus className="h-4 w-4" aria-hidden /> Add moderator
          </Button>
        </form>
      )}
      <SectionStatus error={error} done={done} />
    </div>
  );
}
