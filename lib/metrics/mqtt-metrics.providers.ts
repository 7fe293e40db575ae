import type { Provider } from '@nestjs/common';
import { MqttMessageDispatcher } from '../dispatch/mqtt-message.dispatcher.js';
import { MQTT_WS_RESOLVED_OPTIONS } from '../mqtt-ws.constants.js';
import type { ResolvedMqttWsOptions } from '../mqtt-ws-options.validator.js';
import { MqttWsListener } from '../transport/mqtt-ws.listener.js';
import { keepsStatistics } from './mqtt-operations-options.validator.js';
import { MqttPrometheusMetrics } from './mqtt-prometheus.metrics.js';
import { MqttStatistics } from './mqtt-statistics.js';
import { loadPromClient, type PromClient } from './prom-client.loader.js';

/** The statistics, or `null` (neither `metrics` nor `sysInterval`): then nothing is installed anywhere. */
export const MQTT_STATISTICS = Symbol('MQTT_STATISTICS');
/** The Prometheus metrics, or `null` without `metrics`. */
export const MQTT_METRICS = Symbol('MQTT_METRICS');

/** prom-client, loaded before the broker is built (it depends on the statistics), so a missing package fails start-up first. */
const MQTT_PROM_CLIENT = Symbol('MQTT_PROM_CLIENT');

export const mqttStatisticsProviders: Provider[] = [
  {
    provide: MQTT_PROM_CLIENT,
    useFactory: (options: ResolvedMqttWsOptions) => (options.metrics ? loadPromClient() : null),
    inject: [MQTT_WS_RESOLVED_OPTIONS],
  },
  {
    provide: MQTT_STATISTICS,
    useFactory: (options: ResolvedMqttWsOptions) => (keepsStatistics(options) ? new MqttStatistics() : null),
    // After prom-client, so that the broker, which needs the statistics, is built only once it loaded.
    inject: [MQTT_WS_RESOLVED_OPTIONS, MQTT_PROM_CLIENT],
  },
];

export const mqttMetricsProvider: Provider = {
  provide: MQTT_METRICS,
  useFactory: (
    options: ResolvedMqttWsOptions,
    promClient: PromClient | null,
    statistics: MqttStatistics | null,
    listener: MqttWsListener,
    dispatcher: MqttMessageDispatcher,
  ): MqttPrometheusMetrics | null => {
    if (!options.metrics || promClient === null || statistics === null) return null;
    const metrics = new MqttPrometheusMetrics(promClient, options.metrics === true ? {} : options.metrics, statistics, () => listener.transportStats);
    dispatcher.handlerObserver = metrics;
    return metrics;
  },
  inject: [MQTT_WS_RESOLVED_OPTIONS, MQTT_PROM_CLIENT, MQTT_STATISTICS, MqttWsListener, MqttMessageDispatcher],
};
