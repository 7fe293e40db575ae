import type { PromRegistry } from './prom-client.loader.js';

/** One handler and outcome: its bucket counts (not cumulative), sum and count, plain numbers. */
interface HandlerSeries {
  readonly labels: { handler: string; outcome: 'ok' | 'error' };
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** A sample in the form of prom-client's own metrics, for its registry to print. */
interface HistogramSample {
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  value: number;
  metricName: string;
}

interface HistogramData {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  values: HistogramSample[];
}

/**
 * `mqtt_handler_duration_seconds`, a Prometheus histogram observed on every handler run. prom-client's
 * `Histogram` builds a label object, validates it and hashes it into a string on each observation,
 * even through a bound child: with a fast handler that was most of what `metrics: true` cost a handled
 * message (docs/operations.md). Here an observation is a bucket search and three additions to plain
 * numbers of the handler's series, bound once; the samples are built when the registry is read. The
 * object is a prom-client metric by shape (`name`, `help`, `type`, `aggregator`, `get()`, `reset()`),
 * registered with `registerMetric`, so the registry prints, merges and resets it like its own
 * (test/operations/metrics.e2e-spec.ts compares its text with a prom-client Histogram's).
 */
export class HandlerDurationHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series: HandlerSeries[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly upperBounds: readonly number[],
    registry: PromRegistry,
  ) {
    registry.registerMetric(this);
  }

  /** The handler's two series, ok and error; called once per handler. */
  seriesOf(handler: string): [ok: HandlerSeries, error: HandlerSeries] {
    const make = (outcome: 'ok' | 'error'): HandlerSeries => {
      const series = { labels: { handler, outcome }, counts: new Float64Array(this.upperBounds.length), sum: 0, count: 0 };
      this.series.push(series);
      return series;
    };
    return [make('ok'), make('error')];
  }

  observe(series: HandlerSeries, seconds: number): void {
    const bounds = this.upperBounds;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= bounds[i]) {
        series.counts[i]++;
        break;
      }
    }
    series.sum += seconds;
    series.count++;
  }

  /**
   * The samples as prom-client's registry prints them: per series observed, the cumulative buckets
   * (`le`), `+Inf`, `_sum` and `_count`, the series' labels shared, so that they print after `le`
   * exactly as a prom-client Histogram's do.
   */
  async getForPromString(): Promise<HistogramData> {
    const values: HistogramSample[] = [];
    const bucket = `${this.name}_bucket`;
    for (const series of this.series) {
      if (series.count === 0) continue;
      let cumulative = 0;
      for (let i = 0; i < this.upperBounds.length; i++) {
        cumulative += series.counts[i];
        values.push({ labels: { le: this.upperBounds[i] }, sharedLabels: series.labels, value: cumulative, metricName: bucket });
      }
      values.push({ labels: { le: '+Inf' }, sharedLabels: series.labels, value: series.count, metricName: bucket });
      values.push({ labels: {}, sharedLabels: series.labels, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: series.labels, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** The samples with every label in `labels` (`getMetricsAsJSON`, and what a Histogram's `get()` gives). */
  async get(): Promise<HistogramData> {
    const data = await this.getForPromString();
    data.values = data.values.map(({ labels, sharedLabels, value, metricName }) => ({ labels: { ...labels, ...sharedLabels }, value, metricName }));
    return data;
  }

  /** `registry.resetMetrics()`: every series back to zero; the handlers keep their bound series. */
  reset(): void {
    for (const series of this.series) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}
