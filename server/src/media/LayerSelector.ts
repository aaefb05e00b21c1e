/**
 * Which simulcast layer one viewer is forwarded, from that viewer's receiver feedback and choice
 * (issue 19, point 2). Pure and clock-free: every input carries its own `now` in milliseconds, so
 * the policy runs the same in the forwarder and in tests. The policy in words is in
 * docs/adaptive-quality.md.
 */

export type QualityChoice = 'auto' | 'high' | 'medium' | 'low';

export interface LayerDecision {
  /** The spatial layer to forward (index into the layers given to setLayers). */
  spatial: number;
  /** Highest temporal layer to forward: 2 = all (or a codec without temporal layers), 1, 0. */
  temporal: number;
  /** Padding to add to this viewer's stream now, bit/s (0 = none): a probe before going up. */
  probeBps: number;
}

/** All times in milliseconds, all ratios of bit/s. */
export interface LayerSelectorOptions {
  /**
   * Auto starts on the top layer rather than the middle one. A receiver's estimate starts low
   * and climbs ~8% a second, capped at 1.5x what it receives: a viewer started low on a fast
   * network takes tens of seconds to climb, one started high on a slow one is down in two.
   * Default false.
   */
  startAtTop: boolean;
  /**
   * A layer falls short when the estimate is below its bitrate times this. Below Chromium's own
   * backoff: on overuse it lowers its estimate to 0.85 × what it receives, so one delay spike on a
   * link that carries the layer (a busy CPU, a Wi-Fi retry) is not a shortfall, while a link too
   * slow goes on falling, or loses packets. Default 0.8.
   */
  shortfallRatio: number;
  /** How long a shortfall must last before going down. Default 1000. */
  shortfallMs: number;
  /**
   * Going down, the layer taken is the highest within the estimate times this: a layer that fills
   * the link leaves nothing for audio, retransmissions and the encoder's bursts, and is left again
   * a few seconds later with a second freeze. Default 0.8.
   */
  downHeadroom: number;
  /** Loss (fraction) that goes down when seen in two reports in a row. Default 0.1. */
  lossDown: number;
  /** Loss that goes down on a single report. Default 0.2. */
  lossDownOnce: number;
  /** Loss at or above which the layer is not stable and a probe aborts. Default 0.02. */
  stableLoss: number;
  /** The same when there is no estimate and loss is all there is to go by. Default 0.01. */
  stableLossWithoutEstimate: number;
  /** Stable time needed before probing the next layer up. Default 10000. */
  holdMs: number;
  /** The hold doubles after each failed probe up to this. Default 60000. */
  maxHoldMs: number;
  /** An up-switch that held this long resets the doubling. Default 30000. */
  holdResetMs: number;
  /**
   * A probe that has not shown the next layer fits by then has failed, unless still rising.
   * Default 3000.
   */
  probeMs: number;
  /**
   * Past probeMs a probe goes on while the estimate keeps rising (a new high within probeRiseMs),
   * up to this. Chromium's receive-side estimator climbs only about 8 % a second (libwebrtc
   * AimdRateControl::MultiplicativeRateIncrease), so from 1.5 × a 450k layer it needs about 9 s
   * to show 1.1 × a 1.2M one. Default 10000; set it to probeMs for a hard 3 s.
   */
  probeMaxMs: number;
  /** See probeMaxMs. Default 1500 (REMB comes every 0.2–1 s). */
  probeRiseMs: number;
  /** A probe succeeds no sooner than this, so a receiver report can show its loss. Default 1000. */
  probeMinMs: number;
  /**
   * The estimate must show the next layer fits for this long, unbroken: padding grown slowly
   * into a link at its limit lifted a 600 kbit/s viewer's estimate past 1.1 × 360p for a moment
   * before the delay showed, and the viewer went up into a freeze. Default 1000.
   */
  probeConfirmMs: number;
  /** Padding beyond the next layer's extra bitrate, as a share of that layer. Default 0.1. */
  probeMargin: number;
  /**
   * With an estimate, a probe's layer plus padding stays within the estimate times this: the
   * padding climbs with the estimate instead of flooding a link that cannot take the next layer
   * (the receiver's estimate rises only ~8 % a second either way, so this costs no time on a fast
   * link). Default 0.9.
   */
  probeHeadroom: number;
  /**
   * The padding starts at this share of the layer and grows by it, compounded, each second. The
   * estimate cannot tell a link carries more than the viewer receives: on a 300 kbit/s link it
   * sat at 469k (1.5 × the 180p layer received), and padding to it at once overflowed the link's
   * queue before the estimate fell, freezing the picture. Grown a tenth a second, the queue
   * fills slowly enough for the receiver to see the delay and lower its estimate first, while
   * the estimate itself can climb no faster than ~8 % a second anyway. Default 0.1.
   */
  probeRamp: number;
  /** The estimate must reach the next layer's bitrate times this to go up. Default 1.1. */
  upRatio: number;
  /**
   * A probe aborts when the estimate falls below its highest during the probe (its value at the
   * start, at least) × this: a fall of over 3 % is overuse, which Chromium reports at once, and a
   * link that just got slower overflows while the padding goes on. Default 0.97.
   */
  probeAbortRatio: number;
  /** Least time between two upward spatial switches. Default 10000. */
  minUpIntervalMs: number;
  /** Least time between two downward switches (spatial or temporal). Default 1000. */
  minDownIntervalMs: number;
  /**
   * After a switch or a probe, loss reports and shortfalls are not held against the new state
   * for this long: a report arriving then mostly covers the time before. Default 1000.
   */
  settleMs: number;
  /** Stable time needed before restoring one temporal layer. Default 5000. */
  temporalHoldMs: number;
  /** On the lowest layer, forward temporal layers 0-1 below this share of it. Default 0.6. */
  temporalOneBelow: number;
  /** On the lowest layer, forward temporal layer 0 alone below this share. Default 0.4. */
  temporalZeroBelow: number;
  /** An estimate older than this is ignored and loss alone decides. Default 5000. */
  estimateTimeoutMs: number;
  /** False for a codec without temporal layers (H.264): temporal stays 2. Default true. */
  temporalLayers: boolean;
}

export const defaultLayerSelectorOptions: Readonly<LayerSelectorOptions> = {
  startAtTop: false,
  shortfallRatio: 0.8,
  shortfallMs: 1000,
  downHeadroom: 0.8,
  lossDown: 0.1,
  lossDownOnce: 0.2,
  stableLoss: 0.02,
  stableLossWithoutEstimate: 0.01,
  holdMs: 10_000,
  maxHoldMs: 60_000,
  holdResetMs: 30_000,
  probeMs: 3000,
  probeMaxMs: 10_000,
  probeRiseMs: 1500,
  probeMinMs: 1000,
  probeConfirmMs: 1000,
  probeMargin: 0.1,
  probeHeadroom: 0.9,
  probeRamp: 0.1,
  upRatio: 1.1,
  probeAbortRatio: 0.97,
  minUpIntervalMs: 10_000,
  minDownIntervalMs: 1000,
  settleMs: 1000,
  temporalHoldMs: 5000,
  temporalOneBelow: 0.6,
  temporalZeroBelow: 0.4,
  estimateTimeoutMs: 5000,
  temporalLayers: true,
};

interface Probe {
  /** The layer being probed for. */
  target: number;
  bps: number;
  startedAt: number;
  /** The estimate when the probe began, to see it fall. */
  startEstimate: number | undefined;
  /** The highest estimate during the probe, and when it was set: is it still rising? */
  peak: number;
  peakAt: number;
  /** The last receiver report during the probe, all of which were below stableLoss. */
  cleanReportAt: number | undefined;
  /** Since when the estimate has shown the next layer fits, unbroken. */
  fitsSince: number | undefined;
}

interface Level {
  spatial: number;
  temporal: number;
}

const allTemporal = 2;
/** A probe's estimate counts as rising on a new high by this much, not on noise. */
const risingBy = 1.02;
/**
 * An estimate this much below the last one fell: Chromium sends a REMB at once when its estimate
 * drops over 3 % (libwebrtc RembThrottler), and only congestion lowers an estimate that is below
 * what the viewer receives (AimdRateControl decreases to 0.85 × the measured throughput).
 */
const fallingBy = 0.97;
/**
 * An estimate this much above its low since a fall has risen again: in its hold after a decrease
 * Chromium repeats the same value, and its increase raises it 0.4 % a report near the rate it
 * last backed off from (two reports, 0.4 s); the margin keeps a link that stays overused, whose
 * repeated backoffs to 0.85 × what it receives wobble with that rate, from reading as risen.
 */
const risenBy = 1.005;
const rank = (level: Level): number => level.spatial * 3 + level.temporal;

export class LayerSelector {
  private readonly options: LayerSelectorOptions;
  private choice: QualityChoice = 'auto';
  private bitrates: readonly number[] = [];
  /** Bit/s the viewer receives beside its video; see setLayers. */
  private alongside = 0;
  /** The layer the policy chose; forwarded unless the publisher paused it. */
  private target = 0;
  /** The layer forwarded: the target, or the nearest sent one while the target is paused. */
  private spatial = 0;
  private temporal = allTemporal;

  private estimate: number | undefined;
  /** When the estimate last rose. */
  private risingAt = -Infinity;
  /**
   * When the estimate last fell by more than noise; when a report last showed loss of stableLoss
   * or more; when the viewer last changed layer (or started). Congestion is the estimate falling,
   * or loss, since then: what came before was on another layer.
   */
  private fellAt = -Infinity;
  /**
   * The lowest estimate since the last fall, and whether one has risen above it since: a receiver
   * whose estimate rises again after its fall has stopped seeing its link overused. Once risen, the
   * highest since, so a decline from it in steps too small to be a fall still counts as one.
   */
  private lowSinceFall = Infinity;
  private risenSinceFall = false;
  private highSinceRise = 0;
  private lossyAt = -Infinity;
  private levelSince = 0;
  private estimateAt = -Infinity;
  private lastLossAt: number | undefined;
  private shortSince: number | undefined;
  private lossStreak = 0;
  private lossDownPending = false;
  /** The pending loss was lossDownOnce or more: far over what the link carries. */
  private severeLoss = false;

  private stableSince = 0;
  private settleUntil = -Infinity;
  private lastDownAt = -Infinity;
  private lastUpAt: number | undefined;
  /** When the last probed up-switch happened, until it has held long enough to reset failures. */
  private upHeldFrom: number | undefined;
  private failures = 0;
  /** A raised choice lets the next up-switch skip the hold and the up interval. */
  private choiceRaised = false;
  private probe: Probe | undefined;
  /** The next layer up once the hold has passed: asked of the publisher if paused. */
  private reaching: number | undefined;

  constructor(options?: Partial<LayerSelectorOptions>) {
    this.options = { ...defaultLayerSelectorOptions, ...options };
  }

  /**
   * The viewer's choice; high/medium/low are ceilings (low = layer 0 even on a fast network;
   * medium = the middle layer of 3, or the lower of 2; high = top).
   */
  setChoice(choice: QualityChoice, now: number): void {
    const count = this.bitrates.length || 3;
    const before = ceiling(this.choice, count);
    this.choice = choice;
    if (ceiling(choice, count) > before) {
      this.choiceRaised = true;
      this.failures = 0;
      this.stableSince = -Infinity;
      // A quality the viewer picked is given at once, as asked; Auto climbs by probing.
      if (choice !== 'auto' && this.bitrates.length > 0) {
        this.cancelProbe();
        this.target = ceiling(choice, count);
      }
    } else if (ceiling(choice, count) < before) {
      this.stableSince = now;
    }
  }

  /**
   * The publisher's layers as now sent, lowest first: measured bit/s each (0 = paused/not sent).
   * Length 1..3. `alongside` is what the viewer is sent beside the video (the stream's audio):
   * a receiver's estimate is of everything it receives, so only the rest is room for a layer.
   */
  setLayers(bitrates: readonly number[], now: number, alongside = 0): void {
    const first = this.bitrates.length === 0;
    this.bitrates = [...bitrates];
    this.alongside = Math.max(0, alongside);
    if (bitrates.length === 0) return;
    if (first) {
      // No estimate yet. Auto: the middle of three, the top of two, the only one, or the top
      // with `startAtTop`; a chosen quality: the one chosen. Then down if the network says so.
      const middle = bitrates.length >= 3 ? 1 : bitrates.length - 1;
      const start = this.choice === 'auto' && !this.options.startAtTop ? middle : 2;
      this.target = Math.min(start, this.cap());
      this.spatial = this.nearestSent(this.target);
      this.stableSince = now;
      this.levelSince = now;
    } else {
      this.target = Math.min(this.target, bitrates.length - 1);
      this.spatial = Math.min(this.spatial, bitrates.length - 1);
    }
  }

  /** A REMB estimate from the viewer (bit/s). */
  onEstimate(bitrate: number, now: number): void {
    if (this.estimate !== undefined && bitrate > this.estimate * 1.01) this.risingAt = now;
    const fell = this.estimate !== undefined && bitrate < this.estimate * fallingBy;
    const declined = this.risenSinceFall && bitrate < this.highSinceRise * fallingBy;
    if (fell || declined) {
      this.fellAt = now;
      this.lowSinceFall = bitrate;
      this.risenSinceFall = false;
    } else if (this.risenSinceFall || bitrate > this.lowSinceFall * risenBy) {
      this.highSinceRise = this.risenSinceFall ? Math.max(this.highSinceRise, bitrate) : bitrate;
      this.risenSinceFall = true;
    } else {
      this.lowSinceFall = Math.min(this.lowSinceFall, bitrate);
    }
    this.estimate = bitrate;
    this.estimateAt = now;
    const probe = this.probe;
    if (!probe) return;
    // Overuse while probing: the estimate falls from the probe's high (or from where it began).
    const high = Math.max(probe.peak, probe.startEstimate ?? 0);
    if (probe.startEstimate !== undefined && bitrate < high * this.options.probeAbortRatio) {
      this.failProbe(now);
    } else if (bitrate > probe.peak * risingBy) {
      probe.peak = bitrate;
      probe.peakAt = now;
    }
  }

  /** A receiver report block for this viewer's video: fraction lost 0..1. */
  onLoss(fractionLost: number, now: number): void {
    const o = this.options;
    this.lastLossAt = now;
    if (this.probe) {
      if (fractionLost >= o.stableLoss) this.failProbe(now);
      else this.probe.cleanReportAt = now;
    }
    const unstableAt = this.hasEstimate(now) ? o.stableLoss : o.stableLossWithoutEstimate;
    if (fractionLost >= unstableAt) this.stableSince = now;
    if (fractionLost >= o.stableLoss && now >= this.settleUntil) this.lossyAt = now;
    // A report this soon after a switch or probe mostly covers the time before it.
    if (now < this.settleUntil) {
      this.lossStreak = 0;
      return;
    }
    if (fractionLost >= o.lossDownOnce) {
      this.lossDownPending = true;
      this.severeLoss = true;
    } else if (fractionLost >= o.lossDown) {
      this.lossStreak += 1;
      if (this.lossStreak >= 2) this.lossDownPending = true;
    } else {
      this.lossStreak = 0;
    }
  }

  /**
   * Called on every forwarded packet's clock or on a timer (every 100–250 ms); returns the
   * decision, which changes only at the times the policy allows.
   */
  decide(now: number): LayerDecision {
    if (this.bitrates.length === 0) return { spatial: 0, temporal: allTemporal, probeBps: 0 };
    this.followChoiceAndPauses(now);
    this.goDownIfShort(now);
    if (this.upHeldFrom !== undefined && now - this.upHeldFrom >= this.options.holdResetMs) {
      this.failures = 0;
      this.upHeldFrom = undefined;
    }
    if (this.probe) this.judgeProbe(now);
    else this.considerUp(now);
    return { spatial: this.spatial, temporal: this.temporal, probeBps: this.probePadding(now) };
  }

  /**
   * The layer this viewer ends up wanting at most: used to tell the publisher which layers are
   * useful.
   */
  get wanted(): number {
    if (this.bitrates.length === 0) return 0;
    // Clamped, so a lowered choice frees layers before the next decide.
    return Math.min(Math.max(this.target, this.probe?.target ?? 0, this.reaching ?? 0), this.cap());
  }

  /** A lowered choice drops at once; a paused layer is left at once, taken again when resumed. */
  private followChoiceAndPauses(now: number): void {
    const cap = this.cap();
    if (this.target > cap) {
      this.target = cap;
      this.cancelProbe();
      this.stableSince = now;
    }
    if (this.probe && (this.probe.target > cap || !this.isSent(this.probe.target)))
      this.cancelProbe();
    const desired = this.nearestSent(this.target);
    if (desired < this.spatial) {
      this.spatial = desired;
      this.afterSwitch(now);
    } else if (
      desired > this.spatial &&
      (!this.isSent(this.spatial) || this.upIntervalPassed(now))
    ) {
      // The target layer was resumed: it fitted before it paused, so no probe. A layer no longer
      // sent is left whatever the interval: there is nothing to forward on it.
      this.spatial = desired;
      this.lastUpAt = now;
      this.afterSwitch(now);
    }
    if (
      this.temporal < allTemporal &&
      (!this.options.temporalLayers || this.spatial !== this.lowestSent())
    ) {
      this.temporal = allTemporal;
    }
  }

  private goDownIfShort(now: number): void {
    const estimate = this.videoEstimate(now);
    const current = { spatial: this.spatial, temporal: this.temporal };
    // An estimate still climbing is a receiver starting up (or recovering), not a shortfall:
    // congestion shows as an estimate that falls, or stands still below what it is sent, after a
    // fall or with loss on this layer. Without either it lags: after going up it climbs ~8 % a
    // second from where the lower layer left it, pausing on the way; after going down it is at
    // its lowest, from the congestion on the layer left.
    const climbing = now - this.risingAt < 2 * this.options.shortfallMs;
    // A fall without loss counts until the estimate rises again. One delay spike on a link that
    // carries the layer (a busy CPU here, a Wi-Fi retry) lowers the estimate once, to 0.85 × what
    // was received over a window that the spike thinned, and then it climbs: measured on two busy
    // cores, 1.16M fell to 794k and climbed 3k a report, no packet lost, with the 1.04M layer
    // flowing whole. A link too slow for the layer keeps its queue growing: the estimate stays at
    // its low or falls again, or packets are lost.
    const fellUnrecovered = this.fellAt >= this.levelSince && !this.risenSinceFall;
    const congested = fellUnrecovered || this.lossyAt >= this.levelSince;
    if (
      estimate !== undefined &&
      now >= this.settleUntil &&
      !climbing &&
      congested &&
      estimate < this.floor(current)
    ) {
      this.shortSince ??= now;
      this.stableSince = now;
    } else {
      this.shortSince = undefined;
    }
    if (now - this.lastDownAt < this.options.minDownIntervalMs) return;
    const sustained =
      this.shortSince !== undefined && now - this.shortSince >= this.options.shortfallMs;
    if (!sustained && !this.lossDownPending) return;
    let next = estimate === undefined ? current : this.fitting(estimate);
    if (this.lossDownPending) {
      // Severe loss with no estimate to say which layer fits: the lowest, whole, at once. A
      // browser sends no estimate for its first seconds on a congested link, and a step a time,
      // each waiting out the report after it, took 720p to 180p in four seconds and two freezes.
      const step =
        this.severeLoss && estimate === undefined
          ? { spatial: this.lowestSent(), temporal: allTemporal }
          : this.stepDown(current);
      next = estimate === undefined || rank(step) < rank(next) ? step : next;
    }
    this.lossDownPending = false;
    this.severeLoss = false;
    // A lower spatial layer sheds enough at once; the estimate right after congestion is at its
    // lowest, so temporal layers go only if the lower layer then falls short as well.
    if (next.spatial < current.spatial) next = { spatial: next.spatial, temporal: allTemporal };
    if (rank(next) >= rank(current)) return;
    // The network said no: a raised choice no longer excuses the next up-switch from its hold.
    this.choiceRaised = false;
    if (this.probe) this.failProbe(now);
    else if (this.upHeldFrom !== undefined) {
      // Down again soon after going up: that up-switch failed too.
      this.failures += 1;
      this.upHeldFrom = undefined;
    }
    this.target = next.spatial;
    this.spatial = next.spatial;
    this.temporal = next.temporal;
    this.lastDownAt = now;
    this.afterSwitch(now);
  }

  private judgeProbe(now: number): void {
    const probe = this.probe;
    if (!probe) return;
    const o = this.options;
    const elapsed = now - probe.startedAt;
    const estimate = this.videoEstimate(now);
    if (estimate !== undefined) {
      const fits =
        this.estimateAt > probe.startedAt && estimate >= o.upRatio * this.bitrateOf(probe.target);
      probe.fitsSince = fits ? (probe.fitsSince ?? now) : undefined;
      const confirmed = fits && now - (probe.fitsSince ?? now) >= o.probeConfirmMs;
      const stalled = elapsed >= o.probeMs && now - probe.peakAt > o.probeRiseMs;
      if (confirmed && elapsed >= o.probeMinMs) this.switchUp(probe.target, now);
      else if (stalled || elapsed >= o.probeMaxMs) this.failProbe(now);
    } else if (elapsed >= o.probeMs) {
      // Loss alone: the probe passes if a report covering it came back clean.
      const covered =
        probe.cleanReportAt !== undefined && probe.cleanReportAt >= probe.startedAt + o.probeMinMs;
      if (covered) this.switchUp(probe.target, now);
      else this.failProbe(now);
    }
  }

  private considerUp(now: number): void {
    this.reaching = undefined;
    if (this.spatial !== this.target) return;
    const o = this.options;
    const estimate = this.videoEstimate(now);
    const feedback = estimate !== undefined || this.lossFeedback(now);
    if (!feedback) return;
    const stableFor = now - this.stableSince;
    if (this.temporal < allTemporal) {
      const next = this.temporal + 1;
      const share = next === 1 ? o.temporalZeroBelow : o.temporalOneBelow;
      const fits =
        estimate === undefined || estimate >= o.upRatio * share * this.bitrateOf(this.spatial);
      if (stableFor >= o.temporalHoldMs && fits) {
        this.temporal = next;
        this.stableSince = now;
      }
      return;
    }
    const next = this.target + 1;
    // Checked apart from the hold, which a raised choice skips.
    if (this.shortSince !== undefined) return;
    if (next > this.cap() || stableFor < this.hold() || !this.upIntervalPassed(now)) return;
    this.reaching = next;
    const nextBitrate = this.bitrateOf(next);
    if (nextBitrate <= 0) return; // asked of the publisher through `wanted`; probe once it is sent
    if (estimate !== undefined && estimate >= o.upRatio * nextBitrate) {
      this.switchUp(next, now);
      return;
    }
    const currentBitrate = this.bitrateOf(this.spatial);
    // The estimate itself, audio and all, as onEstimate compares it.
    const whole = this.freshEstimate(now);
    this.probe = {
      target: next,
      bps: Math.round(nextBitrate - currentBitrate + o.probeMargin * nextBitrate),
      startedAt: now,
      startEstimate: whole,
      peak: whole ?? 0,
      peakAt: now,
      cleanReportAt: undefined,
      fitsSince: undefined,
    };
  }

  /**
   * The probe's padding now (bit/s; 0 = none): its full amount, or what the estimate leaves above
   * the layer. Between decisions, so a probe the estimate ended stops at once.
   */
  probeBpsAt(now: number): number {
    return this.probePadding(now);
  }

  private probePadding(now: number): number {
    const probe = this.probe;
    if (!probe) return 0;
    const current = this.bitrateOf(this.spatial);
    const seconds = Math.max(0, now - probe.startedAt) / 1000;
    const ramp = current * ((1 + this.options.probeRamp) ** (seconds + 1) - 1);
    const estimate = this.videoEstimate(now);
    const room =
      estimate === undefined ? probe.bps : this.options.probeHeadroom * estimate - current;
    return Math.round(Math.max(0, Math.min(probe.bps, room, ramp)));
  }

  private switchUp(layer: number, now: number): void {
    this.probe = undefined;
    this.reaching = undefined;
    this.target = layer;
    this.spatial = layer;
    this.lastUpAt = now;
    this.upHeldFrom = now;
    this.choiceRaised = false;
    this.afterSwitch(now);
  }

  private failProbe(now: number): void {
    this.probe = undefined;
    this.reaching = undefined;
    this.failures += 1;
    this.choiceRaised = false;
    this.stableSince = now;
    this.settleUntil = now + this.options.settleMs;
    this.shortSince = undefined;
    this.lossStreak = 0;
  }

  /** A probe made pointless by a pause or a lower choice: not the network's failure. */
  private cancelProbe(): void {
    this.probe = undefined;
    this.reaching = undefined;
  }

  private afterSwitch(now: number): void {
    this.reaching = undefined;
    this.levelSince = now;
    this.stableSince = now;
    this.settleUntil = now + this.options.settleMs;
    this.shortSince = undefined;
    this.lossStreak = 0;
    this.lossDownPending = false;
    this.severeLoss = false;
  }

  private hold(): number {
    if (this.choiceRaised) return 0;
    return Math.min(this.options.holdMs * 2 ** this.failures, this.options.maxHoldMs);
  }

  private upIntervalPassed(now: number): boolean {
    return (
      this.choiceRaised ||
      this.lastUpAt === undefined ||
      now - this.lastUpAt >= this.options.minUpIntervalMs
    );
  }

  private cap(): number {
    return ceiling(this.choice, this.bitrates.length);
  }

  private hasEstimate(now: number): boolean {
    return this.freshEstimate(now) !== undefined;
  }

  private freshEstimate(now: number): number | undefined {
    return now - this.estimateAt <= this.options.estimateTimeoutMs ? this.estimate : undefined;
  }

  /** The estimate less what the viewer receives beside its video: the room for a layer. */
  private videoEstimate(now: number): number | undefined {
    const estimate = this.freshEstimate(now);
    return estimate === undefined ? undefined : Math.max(0, estimate - this.alongside);
  }

  private lossFeedback(now: number): boolean {
    return this.lastLossAt !== undefined && now - this.lastLossAt <= this.options.estimateTimeoutMs;
  }

  private bitrateOf(layer: number): number {
    return this.bitrates[layer] ?? 0;
  }

  private isSent(layer: number): boolean {
    return this.bitrateOf(layer) > 0;
  }

  /** The layer itself if sent, else the nearest sent one below, else above, else itself. */
  private nearestSent(layer: number): number {
    for (let below = layer; below >= 0; below -= 1) if (this.isSent(below)) return below;
    for (let above = layer + 1; above < this.bitrates.length; above += 1)
      if (this.isSent(above)) return above;
    return layer;
  }

  private lowestSent(): number {
    return this.nearestSent(0);
  }

  /** Below this estimate the level falls short. L1T3 temporal layers carry ≈ 40 / 60 / 100 %. */
  private floor(level: Level): number {
    const bitrate = this.bitrateOf(level.spatial);
    if (level.temporal >= allTemporal) return this.options.shortfallRatio * bitrate;
    if (level.temporal === 1) return this.options.temporalZeroBelow * bitrate;
    return 0;
  }

  /**
   * The highest sent level within the choice that the estimate carries, with room to spare
   * (downHeadroom) above the lowest layer.
   */
  private fitting(estimate: number): Level {
    const cap = this.cap();
    const lowest = this.lowestSent();
    for (let layer = Math.min(cap, this.bitrates.length - 1); layer > lowest; layer -= 1) {
      const bitrate = this.bitrateOf(layer);
      if (bitrate > 0 && bitrate <= this.options.downHeadroom * estimate) {
        return { spatial: layer, temporal: allTemporal };
      }
    }
    const bitrate = this.bitrateOf(lowest);
    if (!this.options.temporalLayers || estimate >= this.options.temporalOneBelow * bitrate) {
      return { spatial: lowest, temporal: allTemporal };
    }
    return {
      spatial: lowest,
      temporal: estimate >= this.options.temporalZeroBelow * bitrate ? 1 : 0,
    };
  }

  /** One step down: the next sent layer below, or one temporal layer fewer on the lowest. */
  private stepDown(level: Level): Level {
    for (let below = level.spatial - 1; below >= 0; below -= 1) {
      if (this.isSent(below)) return { spatial: below, temporal: allTemporal };
    }
    if (this.options.temporalLayers && level.temporal > 0) {
      return { spatial: level.spatial, temporal: level.temporal - 1 };
    }
    return level;
  }
}

/** The highest layer index a choice allows among `count` layers. */
export function ceiling(choice: QualityChoice, count: number): number {
  const top = Math.max(count - 1, 0);
  if (choice === 'low') return 0;
  if (choice === 'medium') return count >= 3 ? 1 : 0;
  return top;
}
