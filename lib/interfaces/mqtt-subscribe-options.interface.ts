import type { PayloadFormat } from './payload-format.type.js';

export interface MqttSubscribeOptions {
  /** How this handler's payload is decoded. Default: the module's `payloadFormat`. */
  payloadFormat?: PayloadFormat;
}
