import type { ModerationLogEntry } from '@onair/protocol';
import { Button } from '../../components/Button';
import { describeAction } from './describe';

const when = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

/** The actions taken on this stream, newest first; older ones on request. */
export function ModerationLog({
  actions,
  hasOlder,
  onLoadOlder,
}: {
  actions: ModerationLogEntry[];
  hasOlder: boolean;
  onLoadOlder: () => void;
}) {
  if (actions.length === 0) return <p className="text-sm text-zinc-500">Nothing yet.</p>;
  return (
    <div className="flex flex-col gap-2">
      <ol className="flex flex-col gap-1 text-sm" data-testid="moderation-log">
        {actions.map((entry) => (
          <li key={entry.id} className="flex min-w-0 gap-2">
            <time
              dateTime={entry.createdAt}
              className="shrink-0 text-xs tabular-nums leading-5 text-zinc-500"
            >
              {when.format(new Date(entry.createdAt))}
            </time>
            <div className="min-w-0 [overflow-wrap:anywhere]">
              <span className="font-medium">@{entry.actor.username}</span> {describeAction(entry)}
              {entry.removedComments && entry.removedComments.length > 0 && (
                // Gone from the chat for everyone; kept here so the host can see what was said.
                <details className="text-xs text-zinc-400" data-testid="removed-messages">
                  <summary className="cursor-pointer">
                    {entry.removedComments.length} message
                    {entry.removedComments.length > 1 ? 's' : ''} removed from chat
                  </summary>
                  <ul className="mt-1 flex flex-col gap-0.5 border-l border-zinc-700 pl-2">
                    {entry.removedComments.map((c) => (
                      <li key={c.id} className="whitespace-pre-wrap">
                        {c.comment}
                      </li>
                    ))}
                  </ul>
                </details>
              )}
            </div>
          </li>
        ))}
      </ol>
      {hasOlder && (
        <Button
          type="button"
          variant="ghost"
          className="self-start px-2 py-1 text-xs"
          onClick={onLoadOlder}
        >
          Show older
        </Button>
      )}
    </div>
  );
}
