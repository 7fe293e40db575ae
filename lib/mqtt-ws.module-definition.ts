import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { MqttWsModuleOptions } from './interfaces/mqtt-ws-options.interface.js';

export const {
  ConfigurableModuleClass: ConfigurableMqttWsModule,
  MODULE_OPTIONS_TOKEN: MQTT_WS_MODULE_OPTIONS,
  OPTIONS_TYPE: MQTT_WS_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: MQTT_WS_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<MqttWsModuleOptions>({ moduleName: 'MqttWs' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createMqttWsOptions')
  .build();
