import { useDocumentTitle } from '../../components/document-title';
import { PageLayout } from '../../components/PageLayout';

/** `/settings` (signed in only). */
export function SettingsPage() {
  useDocumentTitle('Settings');
  return (
    <PageLayout>
      <h1 className="text-2xl font-bold">Settings</h1>
    </PageLayout>
  );
}
