import type { PayloadFormat } from './payload-format.type.js';

export interface MqttSubscribeOptions {
  /** How this handler's payload is decoded. Default: the module's `payloadFormat`. */
  payloadFormat?: PayloadFormat;
  /**
   * Where the handler runs when several app instances form one broker (the `redis` option):
   * - `'cluster'` (default): once per message in the whole cluster, on the instance where the message
   *   entered the broker (the publishing client's, or the one that called `MqttService.publish`),
   *   before the message is acknowledged.
   * - `'instance'`: on every instance, like a subscriber of its own, after the message was routed;
   *   for per-instance state such as caches. `context.client` is then `null`.
   * With a single instance both run once per message. See docs/cluster.md.
   */
  scope?: MqttHandlerScope;
}

export type MqttHandlerScope = 'cluster' | 'instance';
