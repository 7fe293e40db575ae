import { importOptionalPackages } from '../cluster/optional-packages.loader.js';

/** The package, and the range this library is tested with, for the install command of the error. */
export const PROM_CLIENT_PACKAGE = { name: 'prom-client', range: '^15.1.0' } as const;

/** The parts of prom-client this library uses, typed here so its types stay out of the public ones. */
export interface PromClient {
  register: PromRegistry;
  Counter: new (config: PromMetricConfig) => PromMetric;
  Gauge: new (config: PromMetricConfig) => PromMetric;
  Histogram: new (config: PromMetricConfig & { buckets?: number[] }) => PromMetric;
}

export interface PromRegistry {
  getSingleMetric(name: string): unknown;
  removeSingleMetric(name: string): void;
  registerMetric(metric: unknown): void;
}

export interface PromMetricConfig {
  name: string;
  help: string;
  labelNames?: readonly string[];
  registers: PromRegistry[];
  collect?: (this: PromMetric) => void;
}

export interface PromMetric {
  labels(...values: string[]): PromMetricChild;
  inc(value?: number): void;
  set(value: number): void;
}

export interface PromMetricChild {
  inc(value?: number): void;
  set(value: number): void;
  observe(value: number): void;
}

/**
 * prom-client, an optional peer dependency, through the module's one loader of optional packages:
 * when it is missing, start-up fails naming it and `npm install prom-client@^15.1.0`.
 */
export async function loadPromClient(pkg: { name: string; range: string } = PROM_CLIENT_PACKAGE): Promise<PromClient> {
  const [promClient] = await importOptionalPackages('the "metrics" option', [pkg]);
  return promClient as PromClient;
}
