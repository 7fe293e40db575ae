/**
 * What the dispatcher reports of each handler run, with `metrics` on (otherwise the dispatcher holds
 * `null` and only checks it). `handler` is `Class.method`; `started` is `performance.now()`.
 */
export interface MqttHandlerObserver {
  handlerFinished(handler: string, started: number, failed: boolean): void;
}
