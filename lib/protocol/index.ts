export { applyMqttProtocolConformance } from './mqtt-protocol.conformance.js';
