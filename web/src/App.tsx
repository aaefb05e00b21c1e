import { BrowserRouter, Navigate, Route, Routes } from 'react-router-dom';
import { ArrivalFocus } from './components/arrival-focus';
import { NotFoundPage } from './components/NotFoundPage';
import { AuthProvider } from './features/auth/AuthContext';
import { AuthScreen } from './features/auth/AuthScreen';
import { RequireAuth } from './features/auth/RequireAuth';
import { LivePage } from './features/live/LivePage';
import { StreamPage } from './features/live/StreamPage';
import { TagPage } from './features/live/TagPage';
import { ProfilePage } from './features/profile/ProfilePage';
import { SettingsPage } from './features/settings/SettingsPage';

export function App() {
  return (
    <AuthProvider>
      <BrowserRouter>
        <ArrivalFocus />
        <Routes>
          <Route path="/" element={<LivePage />} />
          {/* The list's old address, kept for bookmarks and links already out there. */}
          <Route path="/live" element={<Navigate to="/" replace />} />
          <Route path="/live/:streamId" element={<StreamPage />} />
          <Route path="/u/:username" element={<ProfilePage />} />
          <Route path="/tags/:tag" element={<TagPage />} />
          <Route path="/signin" element={<AuthScreen mode="signin" />} />
          <Route path="/signup" element={<AuthScreen mode="signup" />} />
          <Route
            path="/settings"
            element={
              <RequireAuth>
                <SettingsPage />
              </RequireAuth>
            }
          />
          <Route path="*" element={<NotFoundPage />} />
        </Routes>
      </BrowserRouter>
    </AuthProvider>
  );
}
