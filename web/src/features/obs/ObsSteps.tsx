/** How to point OBS (30 and later, which speaks WHIP) at this server. */
export function ObsSteps() {
  return (
    <ol className="list-decimal space-y-1 pl-5 text-sm text-zinc-300">
      <li>
        In OBS open <strong>Settings → Stream</strong>.
      </li>
      <li>
        Set <strong>Service</strong> to <strong>WHIP</strong>.
      </li>
      <li>
        Paste the WHIP URL into <strong>Server</strong> and the stream key into{' '}
        <strong>Bearer Token</strong>.
      </li>
      <li>
        In <strong>Output</strong>, use H.264 video (no B-frames) with a keyframe every 1–2 s, about
        2,500–4,000 kbit/s, and Opus audio (OBS picks Opus for WHIP).
      </li>
      <li>
        Press <strong>Start Streaming</strong>: your stream appears here with the title below.
      </li>
    </ol>
  );
}
