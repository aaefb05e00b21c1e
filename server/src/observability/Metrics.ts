import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface MediaFigures {
  publishers: number;
  subscribers: number;
  forwardedPackets: number;
  forwardedBytes: number;
  nacksAnswered: number;
  keyframeRequests: number;
  nodeRelaySent: number;
  nodeRelayReceived: number;
  nodeRelayRejected: number;
}

export interface MetricSources {
  liveCount: () => Promise<{ streams: number; viewers: number }>;
  connectedSockets: () => number;
  /** Read from the media workers at scrape time. */
  media: () => Promise<MediaFigures>;
}

/** Prometheus metrics of one server; a registry of its own so several servers can share a process. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly socketEvents: Counter<'event' | 'outcome'>;
  readonly socketsOverBudget: Counter<'verdict'>;
  private readonly streams: Gauge;
  private readonly viewers: Gauge;
  private readonly sockets: Gauge;
  private readonly mediaFigures: MediaFigures = {
    publishers: 0,
    subscribers: 0,
    forwardedPackets: 0,
    forwardedBytes: 0,
    nacksAnswered: 0,
    keyframeRequests: 0,
    nodeRelaySent: 0,
    nodeRelayReceived: 0,
    nodeRelayRejected: 0,
  };
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
    this.socketsOverBudget = new Counter({
      name: 'onair_socket_messages_over_budget_total',
      help: 'Socket messages over their socket budget: refused, or the last before a disconnect',
      labelNames: ['verdict'],
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
    const figures = this.mediaFigures;
    const gauge = (name: string, help: string, figure: keyof MediaFigures) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(figures[figure]);
        },
      });
    // Totals kept by the workers: counters that are read, not incremented, at scrape time.
    const counter = (name: string, help: string, figure: keyof MediaFigures) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(figures[figure]);
        },
      });
    gauge('onair_media_publishers', 'Publishers on the media workers', 'publishers');
    gauge('onair_media_subscribers', 'Viewer sessions on the media workers', 'subscribers');
    counter(
      'onair_media_forwarded_packets_total',
      'RTP packets forwarded to viewers',
      'forwardedPackets',
    );
    counter(
      'onair_media_forwarded_bytes_total',
      'RTP bytes forwarded to viewers',
      'forwardedBytes',
    );
    counter(
      'onair_media_nacks_answered_total',
      "Packets resent from a stream's history in answer to viewers' NACKs",
      'nacksAnswered',
    );
    counter(
      'onair_media_plis_sent_total',
      'Keyframe requests (PLI) sent to publishers',
      'keyframeRequests',
    );
    counter(
      'onair_media_node_relay_sent_total',
      'Relay datagrams sent to other nodes (media, keep-alives, keyframe requests, NACKs)',
      'nodeRelaySent',
    );
    counter(
      'onair_media_node_relay_received_total',
      'Relay datagrams from other nodes that opened with the deployment key',
      'nodeRelayReceived',
    );
    counter(
      'onair_media_node_relay_rejected_total',
      'Datagrams on the node relay ports dropped: not sealed with the deployment key',
      'nodeRelayRejected',
    );
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
      Object.assign(this.mediaFigures, await this.sources.media());
    }
    return this.registry.metrics();
  }
}
