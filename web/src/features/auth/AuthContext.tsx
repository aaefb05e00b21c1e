import type { AuthResponse, User } from '@onair/protocol';
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useState,
  type ReactNode,
} from 'react';
import { call } from '../../lib/api';
import { LiveSocket } from '../../lib/live-socket';

export interface Session {
  token: string;
  user: User;
}

interface AuthValue {
  /** The signed-in user, or null for a visitor watching without an account. */
  session: Session | null;
  /**
   * One socket shared by every screen: anonymous while signed out (public streams only), replaced
   * by an authenticated one on sign-in and by an anonymous one again on sign-out.
   */
  socket: LiveSocket;
  signIn(username: string, password: string): Promise<void>;
  signUp(username: string, password: string, displayName?: string): Promise<void>;
  signOut(): void;
  /** Shows the signed-in user as the server now has them (after a profile change), everywhere. */
  updateUser(user: User): void;
}

const AuthContext = createContext<AuthValue | null>(null);
const storageKey = 'onair.token';

export function AuthProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(null);
  // Until a stored token is checked nobody knows which socket to open: none is, so a returning
  // user never connects anonymously first.
  const [loading, setLoading] = useState(() => localStorage.getItem(storageKey) !== null);

  // A stored token is checked with the server before anything trusts it.
  useEffect(() => {
    const token = localStorage.getItem(storageKey);
    if (!token) return;
    call('authMe', { token })
      .then(({ user }) => setSession({ token, user }))
      .catch(() => localStorage.removeItem(storageKey))
      .finally(() => setLoading(false));
  }, []);

  const token = session?.token ?? null;
  const socket = useMemo(() => (loading ? null : new LiveSocket(token)), [loading, token]);
  useEffect(() => () => socket?.close(), [socket]);

  const accept = useCallback((auth: AuthResponse) => {
    localStorage.setItem(storageKey, auth.token);
    setSession({ token: auth.token, user: auth.user });
  }, []);

  const value = useMemo<AuthValue | null>(
    () =>
      socket && {
        session,
        socket,
        signIn: async (username, password) =>
          accept(await call('login', { body: { username, password } })),
        signUp: async (username, password, displayName) =>
          accept(
            await call('register', {
              body: { username, password, ...(displayName ? { displayName } : {}) },
            }),
          ),
        signOut: () => {
          localStorage.removeItem(storageKey);
          setSession(null);
        },
        // Only the same user: a late answer never puts one account's profile on another's session.
        updateUser: (user) =>
          setSession((current) => (current?.user.id === user.id ? { ...current, user } : current)),
      },
    [session, socket, accept],
  );
  if (!value)
    return (
      <p className="p-8 text-center text-zinc-400" role="status">
        Loading…
      </p>
    );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth outside AuthProvider');
  return value;
}

/** For screens behind `RequireAuth`: the session is there. */
export function useSession(): { session: Session; socket: LiveSocket } {
  const { session, socket } = useAuth();
  if (!session) throw new Error('useSession outside RequireAuth');
  return { session, socket };
}
