import { NextStreamForm } from './NextStreamForm';
import { ObsSteps } from './ObsSteps';
import { StreamKeyPanel } from './StreamKeyPanel';

/** Everything needed to go live from OBS instead of the browser. */
export function ObsPanel() {
  return (
    <div className="flex min-w-0 flex-col gap-4" data-testid="obs-panel">
      <StreamKeyPanel />
      <ObsSteps />
      <section aria-labelledby="next-stream-heading" className="flex flex-col gap-2">
        <h3 id="next-stream-heading" className="font-semibold">
          Next stream from OBS
        </h3>
        <NextStreamForm />
      </section>
    </div>
  );
}
