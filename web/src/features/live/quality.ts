import type { QualityChoice, StreamLayer } from '@onair/protocol';

/** One entry of the player's quality menu. */
export interface QualityOption {
  choice: QualityChoice;
  label: string;
}

/** A picture's height as people name it ("720p"): its shorter side, so portrait counts too. */
export const pixelsOf = (size: { width: number; height: number }): number =>
  Math.min(size.width, size.height);

/**
 * The menu's entries for the layers the broadcaster sends (lowest first): Auto always, then
 * High, Medium and Low labelled with each layer's real height. One layer leaves Auto alone; two
 * are High and Low. `playing`: the height the video shows now, for Auto's label (0 when unknown).
 */
export function qualityOptions(layers: readonly StreamLayer[], playing: number): QualityOption[] {
  const auto: QualityOption = {
    choice: 'auto',
    label: playing > 0 ? `Auto (${playing}p)` : 'Auto',
  };
  const low = layers[0];
  const high = layers.at(-1);
  if (!low || !high || layers.length < 2) return [auto];
  const entry = (choice: QualityChoice, name: string, layer: StreamLayer): QualityOption => ({
    choice,
    label: `${name} · ${pixelsOf(layer)}p`,
  });
  const middle = layers.length > 2 ? layers[Math.floor(layers.length / 2)] : undefined;
  return [
    auto,
    entry('high', 'High', high),
    ...(middle ? [entry('medium', 'Medium', middle)] : []),
    entry('low', 'Low', low),
  ];
}
