export { getMqttPrincipal } from './mqtt-principal.js';
export * from './mqtt-auth-policy.interface.js';
export type { MqttOriginCheck, MqttSecurityOptions } from './mqtt-security-options.interface.js';
export type { MqttConnectionDetails } from './trusted-proxies.js';
