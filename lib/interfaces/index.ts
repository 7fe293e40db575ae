export * from './mqtt-events.interface.js';
export * from './mqtt-health.interface.js';
export * from './mqtt-publish-options.interface.js';
export * from './mqtt-subscribe-options.interface.js';
export * from './mqtt-upgrade-request.interface.js';
export * from './mqtt-ws-options.interface.js';
export * from './payload-format.type.js';
export * from './mqtt5.interface.js';
