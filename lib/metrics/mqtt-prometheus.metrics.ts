import type { OnApplicationShutdown } from '@nestjs/common';
import type { MqttMetricsOptions } from './mqtt-operations-options.interface.js';
import type { MqttHandlerObserver } from './mqtt-handler.observer.js';
import { HandlerDurationHistogram } from './handler-duration.histogram.js';
import type { MqttTrafficTotals } from './traffic-totals.js';
import { DROP_REASONS, TRANSPORT_LABELS, type MqttStatistics } from './mqtt-statistics.js';
import type { PromClient, PromMetricChild, PromRegistry } from './prom-client.loader.js';


/** Handler durations, in seconds: from a fast in-process handler to one that waits on a database. */
const HANDLER_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const QOS_LABELS = ['0', '1', '2'] as const;

/**
 * The module's Prometheus metrics. Counters and gauges are computed on scrape (`collect`) from
 * the numbers `MqttStatistics`, the broker and the transport keep anyway, so with `metrics` on a
 * message costs an addition to a plain number; only handler durations are observed as they
 * happen, each handler's two label children bound once. The metrics leave the registry when the
 * app shuts down, so a later app of the same process (a test suite) can register them again.
 */
export class MqttPrometheusMetrics implements MqttHandlerObserver, OnApplicationShutdown {
  readonly registry: PromRegistry;
  readonly names: string[] = [];
  private readonly handlerDuration: HandlerDurationHistogram;
  private readonly handlerSeries = new Map<string, ReturnType<HandlerDurationHistogram['seriesOf']>>();

  constructor(
    promClient: PromClient,
    options: MqttMetricsOptions,
    statistics: MqttStatistics,
    traffic: () => MqttTrafficTotals,
  ) {
    this.registry = (options.registry as PromRegistry | undefined) ?? promClient.register;
    const prefix = options.prefix ?? '';
    const registers = [this.registry];
    const name = (base: string): string => {
      const full = prefix + base;
      if (this.registry.getSingleMetric(full) !== undefined) {
        this.remove();
        throw new Error(
          `MqttWsModule: the metric "${full}" is already registered in ${options.registry ? 'the given registry' : "prom-client's default registry"} ` +
            '(another MqttWsModule app of this process, or the app itself?). Give each app its own "metrics.registry" ' +
            "(new Registry() from 'prom-client') or its own \"metrics.prefix\", or close the other app first.",
        );
      }
      this.names.push(full);
      return full;
    };
    // Counters reported on scrape: what the statistics counted since the last one.
    const counterOf = (child: PromMetricChild, read: () => number) => {
      let reported = 0;
      return () => {
        const value = read();
        if (value > reported) child.inc(value - reported);
        reported = value;
      };
    };
    const updates: (() => void)[] = [];
    const collectAll = (): void => {
      for (const update of updates) update();
    };

    new promClient.Gauge({
      name: name('mqtt_clients_connected'),
      help: 'MQTT clients connected to this instance (CONNECT accepted), by transport',
      labelNames: ['transport'],
      registers,
      collect() {
        for (const transport of TRANSPORT_LABELS) this.labels(transport).set(statistics.clientsConnected[transport]);
      },
    });

    const connections = new promClient.Counter({
      name: name('mqtt_connections_total'),
      help: 'Connections, by transport and outcome (refused: a refusing CONNACK from the protocol checks, limits or the auth policy, or a refused WebSocket handshake)',
      labelNames: ['transport', 'outcome'],
      registers,
      collect: collectAll,
    });
    for (const transport of TRANSPORT_LABELS) {
      updates.push(counterOf(connections.labels(transport, 'accepted'), () => statistics.connectionsAccepted[transport]));
      // The WebSocket listener's handshake refusals are connections of the `ws` transport refused too.
      const refused = transport === 'ws' ? () => statistics.connectionsRefused.ws + traffic().handshakesRefused : () => statistics.connectionsRefused[transport];
      updates.push(counterOf(connections.labels(transport, 'refused'), refused));
    }

    const received = new promClient.Counter({
      name: name('mqtt_messages_received_total'),
      help: 'PUBLISH packets accepted from clients, by QoS',
      labelNames: ['qos'],
      registers,
      collect: collectAll,
    });
    const sent = new promClient.Counter({
      name: name('mqtt_messages_sent_total'),
      help: 'Messages delivered to subscribers, by the QoS delivered',
      labelNames: ['qos'],
      registers,
      collect: collectAll,
    });
    for (const qos of QOS_LABELS) {
      updates.push(counterOf(received.labels(qos), () => statistics.messagesReceived[+qos]));
      updates.push(counterOf(sent.labels(qos), () => statistics.messagesSent[+qos]));
    }

    const bytesReceived = new promClient.Counter({
      name: name('mqtt_bytes_received_total'),
      help: 'MQTT bytes read from clients (WebSocket frame payloads)',
      registers,
      collect: collectAll,
    });
    const bytesSent = new promClient.Counter({
      name: name('mqtt_bytes_sent_total'),
      help: 'MQTT bytes written to clients (WebSocket frame payloads)',
      registers,
      collect: collectAll,
    });
    updates.push(counterOf(bytesReceived as unknown as PromMetricChild, () => traffic().bytesReceived));
    updates.push(counterOf(bytesSent as unknown as PromMetricChild, () => traffic().bytesSent));

    new promClient.Gauge({
      name: name('mqtt_subscriptions'),
      help: 'Subscriptions held by the clients connected to this instance',
      registers,
      collect() {
        this.set(statistics.subscriptions);
      },
    });

    const dropped = new promClient.Counter({
      name: name('mqtt_messages_dropped_total'),
      help: 'Messages dropped, by reason: slow_consumer (maxBufferedBytes), queue_limit (maxQueuedMessages), expiry (MQTT 5 message expiry)',
      labelNames: ['reason'],
      registers,
      collect: collectAll,
    });
    for (const reason of DROP_REASONS) updates.push(counterOf(dropped.labels(reason), () => statistics.dropped[reason]));

    // Not prom-client's Histogram, whose every observation hashes its labels (handler-duration.histogram.ts).
    this.handlerDuration = new HandlerDurationHistogram(
      name('mqtt_handler_duration_seconds'),
      'Time an @MqttSubscribe handler took (guards, interceptors and pipes included), by handler and outcome',
      HANDLER_BUCKETS,
      this.registry,
    );
  }

  handlerFinished(handler: string, started: number, failed: boolean): void {
    let series = this.handlerSeries.get(handler);
    if (series === undefined) {
      series = this.handlerDuration.seriesOf(handler);
      this.handlerSeries.set(handler, series);
    }
    this.handlerDuration.observe(series[failed ? 1 : 0], (performance.now() - started) / 1000);
  }

  onApplicationShutdown(): void {
    this.remove();
  }

  private remove(): void {
    for (const name of this.names) this.registry.removeSingleMetric(name);
    this.names.length = 0;
  }
}
