export * from './mqtt-params.decorators.js';
export * from './mqtt-subscribe.decorator.js';
export { OnMqttEvent } from './on-mqtt-event.decorator.js';
