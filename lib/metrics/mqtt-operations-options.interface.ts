/** `forRoot({ metrics: { … } })`: where the Prometheus metrics go. */
export interface MqttMetricsOptions {
  /**
   * A prom-client `Registry` to register the metrics in. Default: prom-client's global registry
   * (`register`), which one app of a process may use at a time (docs/operations.md).
   */
  registry?: object;
  /** Put before every metric name, e.g. `'app_'` gives `app_mqtt_clients_connected`. */
  prefix?: string;
}
