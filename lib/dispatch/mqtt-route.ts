import type { MqttHandlerScope } from '../interfaces/mqtt-subscribe-options.interface.js';
import type { PayloadFormat } from '../interfaces/payload-format.type.js';
import type { MqttContext } from '../mqtt.context.js';
import type { TopicFilter } from '../topic/index.js';

/** One `@MqttSubscribe` filter of one handler method. */
export interface MqttRoute {
  filter: TopicFilter;
  payloadFormat: PayloadFormat;
  /** Once in the cluster, from the `published` hook, or on every instance, from the broker's emitter. */
  scope: MqttHandlerScope;
  /** `Class.method`, for logs. */
  handlerName: string;
  /** The same object for every filter of one method, so a message runs a method once. */
  handlerKey: object;
  /** The method wrapped in Nest's guards, interceptors, pipes and exception filters. */
  invoke: (payload: unknown, context: MqttContext) => Promise<unknown>;
}
