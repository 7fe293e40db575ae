export * from './mqtt-paramtype.enum.js';
