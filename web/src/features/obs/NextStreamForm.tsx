import { LIMITS, nextStreamBody, type NextStreamSettings } from '@onair/protocol';
import { useEffect, useState, type FormEvent } from 'react';
import { Button } from '../../components/Button';
import { call } from '../../lib/api';
import { describeError } from '../../lib/errors';
import { fieldErrors } from '../../lib/field-messages';
import { parseTags } from '../../lib/tags';
import { useSession } from '../auth/AuthContext';

const input = 'w-full min-w-0 rounded-lg border border-zinc-700 bg-zinc-900 px-3 py-2 text-base';

/** What the next stream started from OBS is called and who may watch it. */
export function NextStreamForm() {
  const { session } = useSession();
  const [loaded, setLoaded] = useState<NextStreamSettings | null>(null);
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [tags, setTags] = useState('');
  const [isPrivate, setPrivate] = useState(false);
  const [record, setRecord] = useState(true);
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const show = (settings: NextStreamSettings) => {
    setLoaded(settings);
    setTitle(settings.title);
    setDescription(settings.description);
    setTags(settings.tags.join(', '));
    setPrivate(settings.isPrivate);
    setRecord(settings.record);
  };

  useEffect(() => {
    let cancelled = false;
    call('nextStream', { token: session.token }).then(
      (settings) => !cancelled && show(settings),
      (e: unknown) => !cancelled && setStatus({ ok: false, text: describeError(e) }),
    );
    return () => {
      cancelled = true;
    };
  }, [session.token]);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    const fields = { title: title.trim(), description, tags: parseTags(tags), isPrivate, record };
    const parsed = nextStreamBody.safeParse(fields);
    if (!parsed.success) {
      const errors = fieldErrors(nextStreamBody, fields);
      setStatus({ ok: false, text: Object.values(errors)[0] ?? 'Check the fields.' });
      return;
    }
    setBusy(true);
    setStatus(null);
    try {
      show(await call('saveNextStream', { body: parsed.data, token: session.token }));
      setStatus({ ok: true, text: 'Saved. Your next stream from OBS starts with these.' });
    } catch (e) {
      setStatus({ ok: false, text: describeError(e) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      aria-label="Next stream"
      className="flex min-w-0 flex-col gap-3"
      onSubmit={(event) => {
        // `save` shows its own outcome under the form.
        void save(event);
      }}
    >
      <label className="flex flex-col gap-1 text-sm">
        Title
        <input
          name="next-title"
          maxLength={LIMITS.titleMax}
          value={title}
          onChange={(e) => setTitle(e.target.value)}
          className={input}
          placeholder={`${session.user.display_name} is live`}
          disabled={!loaded}
        />
      </label>
      <label className="flex flex-col gap-1 text-sm">
        Description
        <textarea
          name="next-description"
          maxLength={LIMITS.descriptionMax}
          rows={2}
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          className={input}
          disabled={!loaded}
        />
      </label>
      <label className="flex flex-col gap-1 text-sm">
        Tags (comma separated)
        <input
          name="next-tags"
          value={tags}
          onChange={(e) => setTags(e.target.value)}
          className={input}
          placeholder="music, chat"
          disabled={!loaded}
        />
      </label>
      <label className="flex items-center gap-2 text-sm">
        <input
          type="checkbox"
          name="next-private"
          checked={isPrivate}
          onChange={(e) => setPrivate(e.target.checked)}
          className="h-4 w-4"
          disabled={!loaded}
        />
        Private (only your followers can watch)
      </label>
      <label className="flex items-center gap-2 text-sm">
        <input
          type="checkbox"
          name="next-record"
          checked={record}
          onChange={(e) => setRecord(e.target.checked)}
          className="h-4 w-4"
          disabled={!loaded}
        />
        Record this stream
      </label>
      {status && (
        <p
          role={status.ok ? 'status' : 'alert'}
          className={`text-sm ${status.ok ? 'text-emerald-300' : 'text-rose-300'}`}
        >
          {status.text}
        </p>
      )}
      <Button type="submit" variant="secondary" disabled={busy || !loaded}>
        Save next stream
      </Button>
    </form>
  );
}
