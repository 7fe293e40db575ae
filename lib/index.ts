export * from './decorators/index.js';
export * from './enums/index.js';
export * from './interfaces/index.js';
export { getMqttContext, MqttContext } from './mqtt.context.js';
export { MqttService } from './mqtt.service.js';
export * from './security/index.js';
export { MqttWsModule } from './mqtt-ws.module.js';
export { MQTT_WS_ASYNC_OPTIONS_TYPE, MQTT_WS_MODULE_OPTIONS, MQTT_WS_OPTIONS_TYPE } from './mqtt-ws.module-definition.js';
export { MQTT_BROKER, MQTT_CONTEXT_TYPE } from './mqtt-ws.constants.js';
