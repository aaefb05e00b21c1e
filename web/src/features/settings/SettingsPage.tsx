import type { ReactNode } from 'react';
import { useDocumentTitle } from '../../components/document-title';
import { PageLayout } from '../../components/PageLayout';
import { NextStreamForm } from '../obs/NextStreamForm';
import { ObsSteps } from '../obs/ObsSteps';
import { StreamKeyPanel } from '../obs/StreamKeyPanel';
import { AvatarForm } from './AvatarForm';
import { ProfileForm } from './ProfileForm';
import { RecordingsSection } from './RecordingsSection';

function Section({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <section
      aria-labelledby={id}
      className="flex min-w-0 flex-col gap-3 rounded-xl border border-zinc-800 bg-zinc-900/60 p-4"
    >
      <h2 id={id} className="text-lg font-semibold">
        {title}
      </h2>
      {children}
    </section>
  );
}

/** `/settings`: the signed-in user's profile, stream key, next stream from OBS and recordings. */
export function SettingsPage() {
  useDocumentTitle('Settings');
  return (
    <PageLayout className="mx-auto flex w-full min-w-0 max-w-2xl flex-col gap-4 p-4">
      <h1 className="text-2xl font-bold">Settings</h1>
      <Section id="profile-heading" title="Profile">
        <AvatarForm />
        <ProfileForm />
      </Section>
      <Section id="obs-heading" title="Stream from OBS">
        <StreamKeyPanel allowRotate />
        <ObsSteps />
      </Section>
      <Section id="next-heading" title="Next stream from OBS">
        <NextStreamForm />
      </Section>
      <Section id="recordings-heading" title="Recordings">
        <RecordingsSection />
      </Section>
    </PageLayout>
  );
}
