import type { CpuReading } from './proc';
import { round } from './stats';

/**
 * When a measurement window is not trusted, because the load generator rather than the system
 * under test may be what limits it: any one load-generator process (a viewer or receiver worker,
 * or the harness process that hosts the publisher and the probe viewers) used at least
 * `loadProcessShare` of one core, or the whole machine was idle less than `machineIdle` of the
 * time. A step with any such window is INVALID and its figures are not reported as results.
 */
export const saturation = { loadProcessShare: 0.8, machineIdle: 0.05 } as const;

export const saturationRule = `a window is saturated when any load-generator process used ≥ ${saturation.loadProcessShare * 100}% of one core, or the machine was < ${saturation.machineIdle * 100}% idle; a step with a saturated window is INVALID`;

/** Why a window's load generator or machine cannot be trusted, if so. */
export function saturationOf(load: CpuReading, idle: number): string | undefined {
  const reasons: string[] = [];
  for (const [pid, share] of load.perProcess)
    if (share >= saturation.loadProcessShare)
      reasons.push(`load-generator process ${pid} at ${round(share * 100)}% of a core`);
  if (idle < saturation.machineIdle) reasons.push(`machine idle ${round(idle * 100)}%`);
  return reasons.length ? reasons.join('; ') : undefined;
}
