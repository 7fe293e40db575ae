export { MqttTestClient } from './mqtt-test-client.js';
export { MqttTestMessage } from './mqtt-test-message.js';
export type { MqttTestClientOptions, MqttTestNextMessageOptions, MqttTestPublishOptions, MqttTestSubscribeOptions } from './mqtt-test-client.options.js';
