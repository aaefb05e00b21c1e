/**
 * The loudness of a stream's microphone, 0..1, sampled on every animation frame with a Web Audio
 * analyser. Returns the function that stops it and closes its audio context.
 */
export function watchAudioLevel(media: MediaStream, onLevel: (level: number) => void): () => void {
  if (!media.getAudioTracks().length || typeof AudioContext === 'undefined') return () => undefined;
  const context = new AudioContext();
  const source = context.createMediaStreamSource(media);
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let frame = 0;
  const tick = () => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    // RMS, scaled so speech at a normal distance fills most of the meter.
    onLevel(Math.min(1, Math.sqrt(sum / samples.length) * 4));
    frame = requestAnimationFrame(tick);
  };
  // A context made before a user gesture starts suspended in some browsers.
  context.resume().catch(() => undefined);
  tick();
  return () => {
    cancelAnimationFrame(frame);
    source.disconnect();
    context.close().catch(() => undefined);
  };
}
