/**
 * One stream's bit rate as a router receives it: bytes counted as they come, turned into bit/s
 * about once a second and smoothed, since a second of audio holds more or fewer packets by
 * chance.
 */
export class RateMeter {
  private bytes = 0;
  private measuredAt: number;
  private smoothed = 0;

  constructor(now = Date.now()) {
    this.measuredAt = now;
  }

  received(bytes: number): void {
    this.bytes += bytes;
  }

  /**
   * The smoothed rate in bit/s, the window since the last call taken in; a window under 500 ms
   * is left to grow.
   */
  measure(now: number): number {
    const ms = now - this.measuredAt;
    if (ms < 500) return this.bitrate;
    const bitrate = (this.bytes * 8 * 1000) / ms;
    this.bytes = 0;
    this.measuredAt = now;
    this.smoothed = this.smoothed === 0 ? bitrate : 0.75 * this.smoothed + 0.25 * bitrate;
    return this.bitrate;
  }

  get bitrate(): number {
    return Math.round(this.smoothed);
  }
}
