import { LogOut, Radio } from 'lucide-react';
import { NavLink } from 'react-router-dom';
import { useAuth } from '../features/auth/AuthContext';

export function BottomNav() {
  const { session, signOut } = useAuth();
  return (
    <nav
      aria-label="Main"
      className="fixed inset-x-0 bottom-0 z-30 border-t border-zinc-800 bg-zinc-950/95 backdrop-blur"
    >
      <div className="mx-auto flex max-w-5xl items-center justify-around px-4 py-2">
        <NavLink
          to="/live"
          className={({ isActive }) =>
            `flex flex-col items-center gap-0.5 rounded-lg px-4 py-1 text-xs ${isActive ? 'text-rose-400' : 'text-zinc-400'}`
          }
        >
          <Radio className="h-5 w-5" aria-hidden />
          Live
        </NavLink>
        <button
          type="button"
          onClick={signOut}
          className="flex flex-col items-center gap-0.5 rounded-lg px-4 py-1 text-xs text-zinc-400"
        >
          <LogOut className="h-5 w-5" aria-hidden />
          Sign out{session ? ` (${session.user.username})` : ''}
        </button>
      </div>
    </nav>
  );
}
