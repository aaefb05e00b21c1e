import { LIMITS } from '@onair/protocol';
import { Camera, ChevronDown, MonitorUp, Radio } from 'lucide-react';
import { useState, type FormEvent, type ReactNode } from 'react';
import { useNavigate } from 'react-router-dom';
import { Button } from '../../components/Button';
import { ApiError, call } from '../../lib/api';
import { describeError } from '../../lib/errors';
import { parseTags } from '../../lib/tags';
import { useSession } from '../auth/AuthContext';
import { ObsPanel } from '../obs/ObsPanel';
import { markPublishingHere } from './device-memory';
import { CameraCheck } from './CameraCheck';

const input = 'min-w-0 rounded-lg border border-zinc-700 bg-zinc-900 px-3 py-2 text-base';

/** A button that shows and hides the section after it. */
function Disclosure({
  open,
  onToggle,
  controls,
  icon,
  children,
}: {
  open: boolean;
  onToggle: () => void;
  controls: string;
  icon: ReactNode;
  children: ReactNode;
}) {
  return (
    <button
      type="button"
      aria-expanded={open}
      aria-controls={controls}
      onClick={onToggle}
      className="flex w-full items-center gap-2 rounded-lg px-1 py-1.5 text-left text-sm font-medium text-zinc-200 hover:bg-zinc-800"
    >
      {icon}
      <span className="flex-1">{children}</span>
      <ChevronDown
        className={`h-4 w-4 transition-transform ${open ? 'rotate-180' : ''}`}
        aria-hidden
      />
    </button>
  );
}

export function GoLiveForm() {
  const { session } = useSession();
  const navigate = useNavigate();
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [tags, setTags] = useState('');
  const [isPrivate, setPrivate] = useState(false);
  const [record, setRecord] = useState(true);
  const [error, setError] = useState<string | null>(null);
  /** The host's stream that is live already (one at a time): offered instead of a new one. */
  const [liveStreamId, setLiveStreamId] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [checking, setChecking] = useState(false);
  const [obs, setObs] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!title.trim()) {
      setError('Give your stream a title.');
      return;
    }
    setBusy(true);
    setError(null);
    setLiveStreamId(null);
    try {
      const tagList = parseTags(tags);
      const stream = await call('startStream', {
        body: { title: title.trim(), description, tags: tagList, isPrivate, record },
        token: session.token,
      });
      // This tab's camera publishes it; the host's other tabs and devices only manage it.
      markPublishingHere(stream.streamId, true);
      navigate(`/live/${stream.streamId}`);
    } catch (e) {
      if (e instanceof ApiError && e.body?.code === 'already_live') {
        setLiveStreamId(e.body.streamId);
        setError(
          'You are already live. Go back to that stream, or end it before starting another.',
        );
      } else setError(describeError(e));
      setBusy(false);
    }
  };

  return (
    <div className="flex min-w-0 flex-col gap-3 rounded-xl border border-zinc-800 bg-zinc-900/60 p-4">
      <form
        onSubmit={(event) => {
          // `submit` shows its own failure in the form: nothing is left to wait for.
          void submit(event);
        }}
        aria-labelledby="go-live-heading"
        className="flex min-w-0 flex-col gap-3"
      >
        <h2 id="go-live-heading" className="text-lg font-semibold">
          Go live
        </h2>
        <label className="flex flex-col gap-1 text-sm">
          Title
          <input
            name="title"
            required
            maxLength={LIMITS.titleMax}
            value={title}
            onChange={(e) => setTitle(e.target.value)}
            className={input}
            placeholder="What are you streaming?"
          />
        </label>
        <label className="flex flex-col gap-1 text-sm">
          Description
          <textarea
            name="description"
            maxLength={LIMITS.descriptionMax}
            rows={2}
            value={description}
            onChange={(e) => setDescription(e.target.value)}
            className={input}
          />
        </label>
        <label className="flex flex-col gap-1 text-sm">
          Tags (comma separated)
          <input
            name="tags"
            value={tags}
            onChange={(e) => setTags(e.target.value)}
            className={input}
            placeholder="music, chat"
          />
        </label>
        <label className="flex items-center gap-2 text-sm">
          <input
            type="checkbox"
            name="private"
            checked={isPrivate}
            onChange={(e) => setPrivate(e.target.checked)}
            className="h-4 w-4"
          />
          Private (only your followers can watch)
        </label>
        <label className="flex items-center gap-2 text-sm">
          <input
            type="checkbox"
            name="record"
            checked={record}
            onChange={(e) => setRecord(e.target.checked)}
            className="h-4 w-4"
          />
          Record this stream
        </label>
        <Disclosure
          open={checking}
          onToggle={() => setChecking((c) => !c)}
          controls="camera-check"
          icon={<Camera className="h-4 w-4" aria-hidden />}
        >
          Camera check
        </Disclosure>
        <div id="camera-check" hidden={!checking}>
          {checking && <CameraCheck />}
        </div>
        {error && (
          <div
            role="alert"
            className="flex flex-col gap-2 rounded-lg bg-rose-950 px-3 py-2 text-sm"
          >
            <p className="text-rose-200">{error}</p>
            {liveStreamId && (
              <Button type="button" onClick={() => navigate(`/live/${liveStreamId}`)}>
                Go to your live stream
              </Button>
            )}
          </div>
        )}
        <Button type="submit" disabled={busy} className="h-12 text-lg">
          <Radio className="h-5 w-5" aria-hidden /> Go Live
        </Button>
      </form>
      <Disclosure
        open={obs}
        onToggle={() => setObs((o) => !o)}
        controls="obs-setup"
        icon={<MonitorUp className="h-4 w-4" aria-hidden />}
      >
        Stream from OBS
      </Disclosure>
      <div id="obs-setup" hidden={!obs}>
        {obs && <ObsPanel />}
      </div>
    </div>
  );
}
