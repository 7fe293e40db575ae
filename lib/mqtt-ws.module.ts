import { Global, Module, type DynamicModule } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { createMqttBroker } from './broker/mqtt-broker.factory.js';
import { MqttRedisHealth } from './cluster/redis-health.js';
import { MqttEventDispatcher } from './dispatch/mqtt-event.dispatcher.js';
import { MqttMessageDispatcher } from './dispatch/mqtt-message.dispatcher.js';
import type { MqttWsModuleOptions } from './interfaces/mqtt-ws-options.interface.js';
import { MqttExplorer } from './mqtt.explorer.js';
import { MqttService } from './mqtt.service.js';
import { MqttMetadataAccessor } from './mqtt-metadata.accessor.js';
import { ConfigurableMqttWsModule, MQTT_WS_MODULE_OPTIONS, MQTT_WS_OPTIONS_TYPE } from './mqtt-ws.module-definition.js';
import { MQTT_BROKER, MQTT_WS_RESOLVED_OPTIONS } from './mqtt-ws.constants.js';
import { resolveMqttWsOptions, type ResolvedMqttWsOptions } from './mqtt-ws-options.validator.js';
import { MqttWsListener } from './transport/mqtt-ws.listener.js';
import { MqttAuthPolicyHost } from './security/mqtt-auth-policy.host.js';
import { MQTT_STATISTICS, mqttMetricsProvider, mqttStatisticsProviders } from './metrics/mqtt-metrics.providers.js';
import { MqttSysPublisher } from './sys/sys-publisher.js';

/**
 * An embedded MQTT broker served over the app's WebSocket endpoint. Global, so `MqttService` can be
 * injected anywhere. `MqttWsModule.forRoot(options?)` or `MqttWsModule.forRootAsync({ useFactory, inject })`.
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: MQTT_WS_RESOLVED_OPTIONS,
      useFactory: (options: MqttWsModuleOptions) => resolveMqttWsOptions(options),
      inject: [MQTT_WS_MODULE_OPTIONS],
    },
    {
      provide: MQTT_BROKER,
      useFactory: createMqttBroker,
      inject: [MQTT_WS_RESOLVED_OPTIONS, MqttMessageDispatcher, MqttAuthPolicyHost, MqttRedisHealth, MQTT_STATISTICS],
    },
    ...mqttStatisticsProviders,
    mqttMetricsProvider,
    MqttSysPublisher,
    MqttAuthPolicyHost,
    MqttRedisHealth,
    MqttMessageDispatcher,
    MqttEventDispatcher,
    MqttMetadataAccessor,
    MqttExplorer,
    MqttWsListener,
    MqttService,
  ],
  exports: [MqttService],
})
export class MqttWsModule extends ConfigurableMqttWsModule {
  /** Every option is optional: `MqttWsModule.forRoot()` serves MQTT at `/mqtt` on the app's port. */
  static override forRoot(options: typeof MQTT_WS_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }
}

export type { ResolvedMqttWsOptions };
