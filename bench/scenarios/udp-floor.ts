import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWorker, type Worker } from '../lib/ipc';
import { cpuMeter, idleMeter } from '../lib/proc';
import { round, spread, type Spread } from '../lib/stats';
import { saturationOf } from '../lib/saturation';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface FloorWindow {
  seconds: number;
  senderCpuPct: number;
  /** Datagrams the receivers counted. */
  received: number;
  sent: number;
  cpuUsPerPacket: number;
  lossPct: number;
  receiverCpuPct: number;
  machineIdlePct: number;
  saturated?: string;
}

export interface FloorResult {
  receivers: number;
  windows: FloorWindow[];
  valid: boolean;
  invalidReason?: string;
  summary: Record<'cpuUsPerPacket' | 'senderCpuPct' | 'lossPct' | 'receiverCpuPct', Spread>;
}

/**
 * The floor for one fan-out step: one process replays the same fixture packets at the same
 * timing and sends each, unencrypted, with dgram.send to `receivers` UDP sockets held by another
 * process. The sender's CPU is measured like the server's (the process and its children).
 */
export async function runUdpFloor(options: {
  receivers: number;
  windowMs: number;
  repeats: number;
  log: (line: string) => void;
}): Promise<FloorResult> {
  const started: Worker[] = [];
  try {
    const receiver = await startWorker(path.join(here, 'udp-floor-receiver.ts'), [
      String(options.receivers),
    ]);
    started.push(receiver);
    const sender = await startWorker(path.join(here, 'udp-floor-sender.ts'), [
      JSON.stringify(receiver.ready.ports),
    ]);
    started.push(sender);
    await new Promise((r) => setTimeout(r, 1000));
    const windows: FloorWindow[] = [];
    for (let r = 0; r < options.repeats; r += 1) {
      await receiver.request({ type: 'take' }, 'counts');
      await sender.request({ type: 'take' }, 'counts');
      const senderCpu = cpuMeter([sender.pid]);
      const receiverCpu = cpuMeter([receiver.pid], [process.pid]);
      const idle = idleMeter();
      await new Promise((resolve) => setTimeout(resolve, options.windowMs));
      const { sent } = await sender.request<{ type: string; sent: number }>(
        { type: 'take' },
        'counts',
      );
      const { received } = await receiver.request<{ type: string; received: number }>(
        { type: 'take' },
        'counts',
      );
      const s = senderCpu();
      const rc = receiverCpu();
      const idleShare = idle();
      const window: FloorWindow = {
        seconds: round(s.wallSeconds, 2),
        senderCpuPct: round(s.share * 100),
        received,
        sent,
        cpuUsPerPacket: round((s.seconds * 1e6) / Math.max(1, received), 2),
        lossPct: round(sent ? Math.max(0, (1 - received / sent) * 100) : 100, 3),
        receiverCpuPct: round(rc.share * 100),
        machineIdlePct: round(idleShare * 100),
      };
      const why = saturationOf(rc, idleShare);
      if (why) window.saturated = why;
      windows.push(window);
    }
    const invalid = windows.filter((w) => w.saturated);
    const result: FloorResult = {
      receivers: options.receivers,
      windows,
      valid: invalid.length === 0,
      summary: {
        cpuUsPerPacket: spread(windows.map((w) => w.cpuUsPerPacket)),
        senderCpuPct: spread(windows.map((w) => w.senderCpuPct)),
        lossPct: spread(windows.map((w) => w.lossPct)),
        receiverCpuPct: spread(windows.map((w) => w.receiverCpuPct)),
      },
    };
    if (invalid.length)
      result.invalidReason = `${invalid.length} of ${windows.length} windows saturated: ${invalid[0]!.saturated}`;
    const u = result.summary.cpuUsPerPacket;
    options.log(
      `UDP floor N=${options.receivers}${result.valid ? '' : ' INVALID'}: ${u.median} µs/pkt (${u.min}–${u.max}), sender ${result.summary.senderCpuPct.median}% CPU, loss ${result.summary.lossPct.median}%, receiver ${result.summary.receiverCpuPct.median}%`,
    );
    return result;
  } finally {
    await Promise.all(started.map((w) => w.stop()));
  }
}
