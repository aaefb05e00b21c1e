import { LIMITS } from '@onair/protocol';
import { Radio } from 'lucide-react';
import { useState, type FormEvent } from 'react';
import { Link, Navigate, useLocation, useNavigate } from 'react-router-dom';
import { Button } from '../../components/Button';
import { useAuth } from './AuthContext';

export function AuthScreen({ mode }: { mode: 'signin' | 'signup' }) {
  const { session, signIn, signUp } = useAuth();
  const navigate = useNavigate();
  const from = (useLocation().state as { from?: string } | null)?.from ?? '/live';
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (session) return <Navigate to={from} replace />;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === 'signin') await signIn(username, password);
      else await signUp(username, password, displayName || undefined);
      navigate(from, { replace: true });
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const signingUp = mode === 'signup';
  return (
    <main className="mx-auto flex min-h-dvh max-w-sm flex-col justify-center gap-6 p-6">
      <div className="flex items-center gap-2 text-2xl font-bold">
        <Radio className="h-7 w-7 text-rose-500" aria-hidden /> OnAir
      </div>
      <h1 className="text-xl font-semibold">{signingUp ? 'Create your account' : 'Sign in'}</h1>
      <form
        onSubmit={(event) => {
          // `submit` shows its own failure in the form: nothing is left to wait for.
          void submit(event);
        }}
        className="flex flex-col gap-4"
        noValidate
      >
        <label className="flex flex-col gap-1 text-sm">
          Username
          <input
            name="username"
            autoComplete="username"
            required
            minLength={LIMITS.usernameMin}
            maxLength={LIMITS.usernameMax}
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            className="rounded-lg border border-zinc-700 bg-zinc-900 px-3 py-2 text-base"
          />
        </label>
        {signingUp && (
          <label className="flex flex-col gap-1 text-sm">
            Display name (optional)
            <input
              name="displayName"
              maxLength={LIMITS.displayNameMax}
              value={displayName}
              onChange={(e) => setDisplayName(e.target.value)}
              className="rounded-lg border border-zinc-700 bg-zinc-900 px-3 py-2 text-base"
            />
          </label>
        )}
        <label className="flex flex-col gap-1 text-sm">
          Password
          <input
            name="password"
            type="password"
            autoComplete={signingUp ? 'new-password' : 'current-password'}
            required
            minLength={signingUp ? LIMITS.passwordMin : 1}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            className="rounded-lg border border-zinc-700 bg-zinc-900 px-3 py-2 text-base"
          />
        </label>
        {error && (
          <p role="alert" className="rounded-lg bg-rose-950 px-3 py-2 text-sm text-rose-200">
            {error}
          </p>
        )}
        <Button type="submit" disabled={busy}>
          {signingUp ? 'Sign up' : 'Sign in'}
        </Button>
      </form>
      <p className="text-sm text-zinc-400">
        {signingUp ? 'Already have an account? ' : 'New here? '}
        <Link
          className="text-rose-400 underline"
          to={signingUp ? '/signin' : '/signup'}
          state={{ from }}
        >
          {signingUp ? 'Sign in' : 'Create an account'}
        </Link>
      </p>
    </main>
  );
}
