import type { MqttWsModuleOptions } from '../interfaces/mqtt-ws-options.interface.js';

type Fail = (option: string, expected: string, value: unknown) => never;

/** A Prometheus metric name: what prom-client accepts, so a bad prefix fails here and not at the first scrape. */
const METRIC_NAME_START = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** Aedes publishes its own heartbeats on `$SYS/<broker id>/…`: the id must not collide with ours. */
export const SYS_ROOT = '$SYS/broker/';

/** `metrics` and `sysInterval`: checked with the other options, at start-up. */
export function validateOperationsOptions(options: MqttWsModuleOptions, fail: Fail): void {
  const metrics = options.metrics;
  if (metrics !== undefined && typeof metrics !== 'boolean') {
    if (metrics === null || typeof metrics !== 'object' || Array.isArray(metrics)) fail('metrics', 'true, false or { registry?, prefix? }', metrics);
    for (const key of Object.keys(metrics)) {
      if (key !== 'registry' && key !== 'prefix') fail('metrics', 'an object with only "registry" and "prefix"', key);
    }
    const { registry, prefix } = metrics;
    if (registry !== undefined && (registry === null || typeof (registry as { registerMetric?: unknown }).registerMetric !== 'function')) {
      fail('metrics.registry', "a prom-client Registry (new Registry() from 'prom-client')", registry);
    }
    if (prefix !== undefined && (typeof prefix !== 'string' || (prefix !== '' && !METRIC_NAME_START.test(prefix)))) {
      fail('metrics.prefix', 'a string of letters, digits, _ and : (not starting with a digit)', prefix);
    }
  }
  const interval = options.sysInterval;
  if (interval !== undefined && !(typeof interval === 'number' && Number.isFinite(interval) && interval >= 0 && interval <= 86400)) {
    fail('sysInterval', 'a number of seconds from 0 (off) to 86400', interval);
  }
  if (interval && options.id === 'broker') {
    fail('id', `another id than "broker" with "sysInterval" (Aedes' own $SYS/<id>/ topics would mix with ${SYS_ROOT})`, options.id);
  }
}

/** Whether the module keeps its statistics: they feed both the metrics and the `$SYS` topics. */
export function keepsStatistics(options: MqttWsModuleOptions): boolean {
  return Boolean(options.metrics) || Boolean(options.sysInterval);
}
