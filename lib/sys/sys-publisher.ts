import { createRequire } from 'node:module';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { MqttBroker } from '../broker/mqtt-broker.js';
import { MQTT_STATISTICS } from '../metrics/mqtt-metrics.providers.js';
import { SYS_ROOT } from '../metrics/mqtt-operations-options.validator.js';
import type { MqttStatistics } from '../metrics/mqtt-statistics.js';
import { MQTT_BROKER, MQTT_WS_RESOLVED_OPTIONS } from '../mqtt-ws.constants.js';
import type { ResolvedMqttWsOptions } from '../mqtt-ws-options.validator.js';
import { MqttWsListener } from '../transport/mqtt-ws.listener.js';

const VERSION = `nestjs-mqtt-ws ${(createRequire(import.meta.url)('../../package.json') as { version: string }).version}`;

/**
 * Mosquitto's `$SYS/broker/…` statistics, published retained by the server every `sysInterval`
 * seconds (and once at bootstrap), read by the clients the auth policy allows (`sys-topics.stage.ts`).
 * Aedes' own `$SYS/<broker id>/…` heartbeats are another tree: the id may not be `broker`.
 * The values are this instance's: in a cluster each instance overwrites the others' (docs/operations.md).
 */
@Injectable()
export class MqttSysPublisher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('MqttWsModule');
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(MQTT_WS_RESOLVED_OPTIONS) private readonly options: ResolvedMqttWsOptions,
    @Inject(MQTT_BROKER) private readonly broker: MqttBroker,
    @Inject(MQTT_STATISTICS) private readonly statistics: MqttStatistics | null,
    private readonly listener: MqttWsListener,
  ) {}

  onApplicationBootstrap(): void {
    const seconds = this.options.sysInterval;
    if (!seconds || this.statistics === null) return;
    this.publish();
    this.timer = setInterval(() => this.publish(), seconds * 1000);
    // The statistics never keep the process alive.
    this.timer.unref();
  }

  beforeApplicationShutdown(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The topics and their values now, as the payloads are published. */
  values(): [topic: string, value: string][] {
    const stats = this.statistics!;
    const { bytesReceived, bytesSent } = this.listener.transportStats;
    const sum = (counts: readonly number[]) => counts.reduce((a, b) => a + b, 0);
    const dropped = stats.dropped;
    return [
      ['version', VERSION],
      ['uptime', `${Math.floor((Date.now() - stats.startedAt) / 1000)} seconds`],
      ['clients/connected', String(this.broker.connectedClients)],
      ['messages/received', String(sum(stats.messagesReceived))],
      ['messages/sent', String(sum(stats.messagesSent))],
      ['messages/dropped', String(dropped.slow_consumer + dropped.queue_limit + dropped.expiry)],
      ['publish/messages/received', String(sum(stats.messagesReceived))],
      ['publish/messages/sent', String(sum(stats.messagesSent))],
      ['bytes/received', String(bytesReceived)],
      ['bytes/sent', String(bytesSent)],
      ['subscriptions/count', String(stats.subscriptions)],
    ];
  }

  private publish(): void {
    if (this.broker.closed) return;
    for (const [topic, value] of this.values()) {
      this.broker.publish(
        { cmd: 'publish', topic: SYS_ROOT + topic, payload: Buffer.from(value), qos: 0, retain: true, dup: false },
        (error) => {
          if (error) this.logger.warn(`Could not publish ${SYS_ROOT}${topic}: ${error.message}`);
        },
      );
    }
  }
}
