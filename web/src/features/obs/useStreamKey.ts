import type { StreamKeyInfo } from '@onair/protocol';
import { useCallback, useEffect, useState } from 'react';
import { call } from '../../lib/api';
import { describeError } from '../../lib/errors';
import { useSession } from '../auth/AuthContext';

/** The host's persistent stream key and WHIP URL, and a way to replace the key. */
export function useStreamKey() {
  const { session } = useSession();
  const [info, setInfo] = useState<StreamKeyInfo | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    call('streamKey', { token: session.token }).then(
      (key) => !cancelled && setInfo(key),
      (e: unknown) => !cancelled && setError(describeError(e)),
    );
    return () => {
      cancelled = true;
    };
  }, [session.token]);

  /** A new key; the old one stops working at once. Resolves whether it worked. */
  const rotate = useCallback(async () => {
    try {
      setInfo(await call('rotateStreamKey', { token: session.token }));
      setError(null);
      return true;
    } catch (e) {
      setError(describeError(e));
      return false;
    }
  }, [session.token]);

  return { info, error, rotate };
}
