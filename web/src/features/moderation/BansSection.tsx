import type { ChannelBan, ChatTimeout, ModerationAction } from '@onair/protocol';
import { Avatar } from '../../components/Avatar';
import { Button } from '../../components/Button';
import { timeLeft } from './describe';
import { SectionStatus } from './SectionStatus';
import { useActionStatus } from './useActionStatus';

const day = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

/** Who is banned from the channel (with Unban), and who is timed out of this stream now. */
export function BansSection({
  bans,
  timeouts,
  act,
}: {
  bans: ChannelBan[];
  timeouts: ChatTimeout[];
  act: (action: ModerationAction) => Promise<unknown>;
}) {
  const { busy, error, done, run } = useActionStatus();
  const running = timeouts.filter((t) => Date.parse(t.until) > Date.now());
  return (
    <div className="flex flex-col gap-2 text-sm">
      {bans.length === 0 ? (
        <p className="text-zinc-500">No one is banned.</p>
      ) : (
        <ul className="flex flex-col gap-1" aria-label="Banned">
          {bans.map((b) => (
            <li key={b.user.id} className="flex min-w-0 items-center gap-2" data-testid="ban">
              <Avatar user={b.user} size="h-6 w-6 text-xs" />
              <span className="min-w-0 flex-1">
                <span className="block truncate">@{b.user.username}</span>
                <span className="block truncate text-xs text-zinc-500">
                  by @{b.bannedBy.username}, {day.format(new Date(b.bannedAt))}
                </span>
              </span>
              <Button
                type="button"
                variant="ghost"
                className="shrink-0 px-2 py-1 text-xs"
                disabled={busy}
                aria-label={`Unban @${b.user.username}`}
                onClick={() =>
                  void run(
                    () => act({ action: 'unban', userId: b.user.id }),
                    `@${b.user.username} is no longer banned.`,
                  )
                }
              >
                Unban
              </Button>
            </li>
          ))}
        </ul>
      )}
      {running.length > 0 && (
        <>
          <h4 className="mt-1 text-xs font-semibold uppercase tracking-wide text-zinc-500">
            Timed out
          </h4>
          <ul className="flex flex-col gap-1" aria-label="Timed out">
            {running.map((t) => (
              <li key={t.user.id} className="flex min-w-0 items-center gap-2">
                <Avatar user={t.user} size="h-6 w-6 text-xs" />
                <span className="min-w-0 flex-1 truncate">@{t.user.username}</span>
                <span className="shrink-0 text-xs text-zinc-400">
                  {timeLeft(Math.ceil((Date.parse(t.until) - Date.now()) / 1000))}
                </span>
              </li>
            ))}
          </ul>
        </>
      )}
      <SectionStatus error={error} done={done} />
    </div>
  );
}
