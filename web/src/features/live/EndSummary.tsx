import type { StreamSummary } from '@onair/protocol';
import { CheckCircle2 } from 'lucide-react';
import { useEffect, useState } from 'react';
import { Button } from '../../components/Button';
import { describeError } from '../../lib/errors';
import { call } from '../../lib/api';
import { useSession } from '../auth/AuthContext';
import { clock } from './format';

/** The host's screen after ending: how the stream went. */
export function EndSummary({
  streamId,
  title,
  onHome,
}: {
  streamId: string;
  title: string;
  onHome: () => void;
}) {
  const { session } = useSession();
  const [summary, setSummary] = useState<StreamSummary | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    call('summary', { params: { streamId }, token: session.token }).then(
      (s) => !cancelled && setSummary(s),
      (e: unknown) => !cancelled && setError(describeError(e)),
    );
    return () => {
      cancelled = true;
    };
  }, [session.token, streamId]);

  const figures: [string, string, string][] = summary
    ? [
        ['Duration', clock(summary.duration), 'summary-duration'],
        ['Peak viewers', String(summary.peakViewers), 'summary-peak'],
        ['Unique viewers', String(summary.uniqueViewers), 'summary-unique'],
        ['Comments', String(summary.commentCount), 'summary-comments'],
      ]
    : [];

  return (
    <div
      className="mx-auto flex min-h-[calc(100dvh-3.5rem)] w-full max-w-lg flex-col items-center justify-center gap-6 p-6 text-center"
      data-testid="end-summary"
    >
      <CheckCircle2 className="h-12 w-12 text-emerald-400" aria-hidden />
      <div className="min-w-0 max-w-full">
        <h1 className="text-2xl font-bold">Your stream has ended</h1>
        <p className="mt-1 break-words text-zinc-400">{title}</p>
      </div>
      {error && <p role="alert">{error}</p>}
      {!summary && !error && (
        <p role="status" className="text-zinc-400">
          Counting…
        </p>
      )}
      {summary && (
        <dl className="grid w-full grid-cols-2 gap-3">
          {figures.map(([label, value, testId]) => (
            <div key={label} className="rounded-xl border border-zinc-800 bg-zinc-900 p-4">
              <dt className="text-sm text-zinc-400">{label}</dt>
              <dd className="text-2xl font-bold tabular-nums" data-testid={testId}>
                {value}
              </dd>
            </div>
          ))}
        </dl>
      )}
      <Button onClick={onHome}>Back home</Button>
    </div>
  );
}
