import { BrowserRouter, Navigate, Route, Routes } from 'react-router-dom';
import { BottomNav } from './components/BottomNav';
import { AuthProvider } from './features/auth/AuthContext';
import { AuthScreen } from './features/auth/AuthScreen';
import { RequireAuth } from './features/auth/RequireAuth';
import { LivePage } from './features/live/LivePage';
import { SettingsPage } from './features/settings/SettingsPage';
import { StreamPage } from './features/live/StreamPage';

export function App() {
  return (
    <AuthProvider>
      <BrowserRouter>
        <Routes>
          <Route path="/signin" element={<AuthScreen mode="signin" />} />
          <Route path="/signup" element={<AuthScreen mode="signup" />} />
          <Route
            path="/live"
            element={
              <RequireAuth>
                <LivePage />
                <BottomNav />
              </RequireAuth>
            }
          />
          <Route
            path="/live/:streamId"
            element={
              <RequireAuth>
                <StreamPage />
              </RequireAuth>
            }
          />
          <Route
            path="/settings"
            element={
              <RequireAuth>
                <SettingsPage />
                <BottomNav />
              </RequireAuth>
            }
          />
          <Route path="*" element={<Navigate to="/live" replace />} />
        </Routes>
      </BrowserRouter>
    </AuthProvider>
  );
}
