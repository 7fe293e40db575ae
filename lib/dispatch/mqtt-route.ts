import type { PayloadFormat } from '../interfaces/payload-format.type.js';
import type { MqttContext } from '../mqtt.context.js';
import type { TopicFilter } from './topic-filter.js';

/** One `@MqttSubscribe` filter of one handler method. */
export interface MqttRoute {
  filter: TopicFilter;
  payloadFormat: PayloadFormat;
  /** `Class.method`, for logs. */
  handlerName: string;
  /** The same object for every filter of one method, so a message runs a method once. */
  handlerKey: object;
  /** The method wrapped in Nest's guards, interceptors, pipes and exception filters. */
  invoke: (payload: unknown, context: MqttContext) => Promise<unknown>;
}
