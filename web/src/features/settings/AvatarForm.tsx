import { AVATAR_TYPES } from '@onair/protocol';
import { useId, useRef, useState, type ChangeEvent } from 'react';
import { Avatar } from '../../components/Avatar';
import { Button } from '../../components/Button';
import { call } from '../../lib/api';
import { ApiError } from '../../lib/api';
import { avatarUpload } from '../../lib/avatar-image';
import { describeError } from '../../lib/errors';
import { useAuth, useSession } from '../auth/AuthContext';

/** The server's own words where they say what to change about the picture (its size, its type). */
function describeUploadError(error: unknown): string {
  if (
    error instanceof ApiError &&
    (error.code === 'payload_too_large' || error.code === 'unsupported_media_type')
  )
    return error.message;
  return describeError(error);
}

/**
 * The profile picture: chosen from the device and saved at once (scaled down first when it is
 * larger than the server takes), or removed to show the name's first character again.
 */
export function AvatarForm() {
  const { session } = useSession();
  const { updateUser } = useAuth();
  const inputId = useId();
  const input = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  const { user } = session;

  const run = async (action: () => Promise<typeof user>, done: string) => {
    setBusy(true);
    setStatus(null);
    try {
      updateUser(await action());
      setStatus({ ok: true, text: done });
    } catch (e) {
      setStatus({ ok: false, text: describeUploadError(e) });
    } finally {
      setBusy(false);
      if (input.current) input.current.value = '';
    }
  };

  const choose = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    if (!file) return;
    const image = await avatarUpload(file);
    if (!image) {
      setStatus({ ok: false, text: 'That file is not a picture this browser can read.' });
      return;
    }
    await run(() => call('uploadAvatar', { body: image, token: session.token }), 'Picture saved.');
  };

  return (
    <div className="flex min-w-0 flex-wrap items-center gap-4">
      <Avatar user={user} size="h-20 w-20 text-3xl" />
      <div className="flex min-w-0 flex-col gap-2">
        <label
          htmlFor={inputId}
          className={`inline-flex cursor-pointer items-center justify-center self-start rounded-lg bg-zinc-800 px-4 py-2 font-medium hover:bg-zinc-700 focus-within:ring-2 focus-within:ring-rose-500 ${busy ? 'pointer-events-none opacity-50' : ''}`}
        >
          {user.avatar_url ? 'Change picture' : 'Upload picture'}
          <input
            ref={input}
            id={inputId}
            type="file"
            accept={AVATAR_TYPES.join(',')}
            className="sr-only"
            disabled={busy}
            onChange={(event) => void choose(event)}
          />
        </label>
        <p className="text-xs text-zinc-400">JPEG, PNG or WebP. Large photos are scaled down.</p>
        {user.avatar_url && (
          <Button
            type="button"
            variant="ghost"
            className="self-start px-2 py-1 text-sm"
            disabled={busy}
            onClick={() =>
              void run(() => call('removeAvatar', { token: session.token }), 'Picture removed.')
            }
          >
            Remove picture
          </Button>
        )}
        {status && (
          <p
            role={status.ok ? 'status' : 'alert'}
            className={`text-sm ${status.ok ? 'text-emerald-300' : 'text-rose-300'}`}
          >
            {status.text}
          </p>
        )}
      </div>
    </div>
  );
}
