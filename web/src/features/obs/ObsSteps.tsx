/** How to point OBS at this server. WHIP output came in OBS 30: older versions cannot do it. */
export function ObsSteps() {
  return (
    <ol className="list-decimal space-y-1 pl-5 text-sm text-zinc-300">
      <li>
        Use <strong>OBS Studio 30 or later</strong> (older versions cannot stream over WHIP).
      </li>
      <li>
        In OBS open <strong>Settings → Stream</strong> and set <strong>Service</strong> to{' '}
        <strong>WHIP</strong>.
      </li>
      <li>
        Paste the WHIP URL into <strong>Server</strong> and the stream key into{' '}
        <strong>Bearer Token</strong>.
      </li>
      <li>
        In <strong>Settings → Output</strong> set <strong>Output Mode</strong> to{' '}
        <strong>Advanced</strong>; on the <strong>Streaming</strong> tab set{' '}
        <strong>Keyframe Interval</strong> to <strong>1 s or 2 s</strong> (viewers who join wait for
        the next keyframe), and use H.264 video (x264 or a hardware encoder, no B-frames) at about
        2,500–4,000 kbit/s. OBS picks Opus audio for WHIP.
      </li>
      <li>
        Press <strong>Start Streaming</strong>: your stream appears here with the title below.
      </li>
    </ol>
  );
}
