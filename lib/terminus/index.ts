export { MqttHealthIndicator, type MqttListenerHealth } from './mqtt-health.indicator.js';
