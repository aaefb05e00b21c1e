import type { QualityChoice, StreamLayer } from '@onair/protocol';

/** One entry of the player's quality menu. */
export interface QualityOption {
  choice: QualityChoice;
  label: string;
}

const names: Record<QualityChoice, string> = {
  auto: 'Auto',
  high: 'High',
  medium: 'Medium',
  low: 'Low',
};

/** A picture's height as people name it ("720p"): its shorter side, so portrait counts too. */
export const pixelsOf = (size: { width: number; height: number }): number =>
  Math.min(size.width, size.height);

/**
 * The menu's entries for the layers the broadcaster sends (lowest first): Auto always, then
 * High, Medium and Low labelled with each layer's real height. One layer leaves Auto alone; two
 * are High and Low. `playing`: the height the video shows now, for Auto's label (0 when unknown).
 * Until the server's first report (`layers` empty), a `chosen` ceiling is listed by name alone,
 * so that the menu shows what this device asked for.
 */
export function qualityOptions(
  layers: readonly StreamLayer[],
  playing: number,
  chosen: QualityChoice = 'auto',
): QualityOption[] {
  const auto: QualityOption = {
    choice: 'auto',
    label: playing > 0 ? `Auto (${playing}p)` : 'Auto',
  };
  const low = layers[0];
  const high = layers.at(-1);
  if (!low || !high)
    return chosen === 'auto' ? [auto] : [auto, { choice: chosen, label: names[chosen] }];
  if (layers.length < 2) return [auto];
  const entry = (choice: QualityChoice, name: string, layer: StreamLayer): QualityOption => ({
    choice,
    label: `${name} · ${pixelsOf(layer)}p`,
  });
  const middle = layers.length > 2 ? layers[Math.floor(layers.length / 2)] : undefined;
  return [
    auto,
    entry('high', names.high, high),
    ...(middle ? [entry('medium', names.medium, middle)] : []),
    entry('low', names.low, low),
  ];
}
