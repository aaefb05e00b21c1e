import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricSources {
  liveCount: () => Promise<{ streams: number; viewers: number }>;
  connectedSockets: () => number;
}

/** Prometheus metrics of one server; a registry of its own so several servers can share a process. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly socketEvents: Counter<'event' | 'outcome'>;
  private readonly streams: Gauge;
  private readonly viewers: Gauge;
  private readonly sockets: Gauge;
  private sources: MetricSources | undefined;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'onair_' });
    const registers = [this.registry];
    this.httpDuration = new Histogram({
      name: 'onair_http_request_duration_seconds',
      help: 'HTTP request latency by route',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.socketEvents = new Counter({
      name: 'onair_socket_events_total',
      help: 'Socket.IO client events handled, by outcome',
      labelNames: ['event', 'outcome'],
      registers,
    });
    this.streams = new Gauge({ name: 'onair_live_streams', help: 'Streams live now', registers });
    this.viewers = new Gauge({
      name: 'onair_viewers',
      help: 'Viewers present in live streams',
      registers,
    });
    this.sockets = new Gauge({
      name: 'onair_connected_sockets',
      help: 'Socket.IO connections on this node',
      registers,
    });
  }

  attach(sources: MetricSources): void {
    this.sources = sources;
  }

  /** Live figures are read from the database at scrape time, so every node reports the same truth. */
  async render(): Promise<string> {
    if (this.sources) {
      const live = await this.sources.liveCount();
      this.streams.set(live.streams);
      this.viewers.set(live.viewers);
      this.sockets.set(this.sources.connectedSockets());
    }
    return this.registry.metrics();
  }
}
