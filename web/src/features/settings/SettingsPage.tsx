import { ArrowLeft } from 'lucide-react';
import type { ReactNode } from 'react';
import { Link } from 'react-router-dom';
import { NextStreamForm } from '../obs/NextStreamForm';
import { ObsSteps } from '../obs/ObsSteps';
import { StreamKeyPanel } from '../obs/StreamKeyPanel';
import { ProfileForm } from './ProfileForm';

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

/** `/settings`: the signed-in user's profile, stream key and next stream from OBS. */
export function SettingsPage() {
  return (
    <div className="mx-auto w-full min-w-0 max-w-2xl pb-24">
      <header className="sticky top-0 z-20 flex items-center gap-2 border-b border-zinc-800 bg-zinc-950/90 p-4 backdrop-blur">
        <Link to="/" aria-label="Back" className="rounded-lg p-1 hover:bg-zinc-800">
          <ArrowLeft className="h-5 w-5" aria-hidden />
        </Link>
        <h1 className="text-2xl font-bold">Settings</h1>
      </header>
      <div className="flex flex-col gap-4 p-4">
        <Section id="profile-heading" title="Profile">
          <ProfileForm />
        </Section>
        <Section id="obs-heading" title="Stream from OBS">
          <StreamKeyPanel allowRotate />
          <ObsSteps />
        </Section>
        <Section id="next-heading" title="Next stream from OBS">
          <NextStreamForm />
        </Section>
      </div>
    </div>
  );
}
