/** Medians and ranges over the rounds, and the budgets of issue 6 checked against them. */

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function aggregate(scenarios, results) {
  const table = {};
  for (const scenario of scenarios) {
    const byTarget = (table[scenario.id] = {});
    for (const result of results.filter((r) => r.scenario === scenario.id)) {
      const entry = (byTarget[result.target] ??= { metrics: {}, cpu: {}, rounds: 0, errors: [] });
      if (result.error) {
        entry.errors.push(result.error.split('\n')[0]);
        continue;
      }
      entry.rounds++;
      for (const [key, value] of Object.entries(result.metrics)) {
        if (typeof value === 'number' && Number.isFinite(value)) (entry.metrics[key] ??= { values: [] }).values.push(value);
      }
      for (const [role, share] of Object.entries(result.cpu ?? {})) (entry.cpu[role] ??= []).push(share);
    }
    for (const entry of Object.values(byTarget)) {
      for (const metric of Object.values(entry.metrics)) {
        metric.median = median(metric.values);
        metric.min = Math.min(...metric.values);
        metric.max = Math.max(...metric.values);
      }
      for (const role of Object.keys(entry.cpu)) entry.cpu[role] = median(entry.cpu[role]);
    }
  }
  return table;
}

export const REFERENCE = 'aedes-tcp';

export function evaluateBudgets(scenarios, aggregated, mode) {
  const budgets = [];
  const value = (scenario, target, key) => aggregated[scenario]?.[target]?.metrics[key]?.median;
  const check = (name, measured, reference, compare, limitText) => {
    if (measured === undefined || reference === undefined) {
      budgets.push({ name, status: 'n/a', detail: 'not measured (target skipped or failed)' });
      return;
    }
    const ratio = measured / reference;
    budgets.push({ name, ratio, status: compare(ratio) ? 'PASS' : 'FAIL', detail: limitText(ratio) });
  };
  for (const scenario of scenarios) {
    if (scenario.budget === 'throughput') {
      check(`${scenario.title}: throughput ≥ 0.90 × Aedes on TCP`, value(scenario.id, 'library', 'rate'), value(scenario.id, REFERENCE, 'rate'), (r) => r >= 0.9, (r) => `${r.toFixed(2)}×`);
    } else if (scenario.budget === 'latency') {
      check(`${scenario.title}: p99 ≤ 1.20 × Aedes on TCP`, value(scenario.id, 'library', 'p99'), value(scenario.id, REFERENCE, 'p99'), (r) => r <= 1.2, (r) => `${r.toFixed(2)}×`);
    } else if (scenario.budget === 'latency-mosquitto') {
      // Issue 16's goal, against the broker a user would otherwise put in front of the app.
      check(`${scenario.title}: p99 ≤ 1.50 × Mosquitto (WebSocket)`, value(scenario.id, 'library', 'p99'), value(scenario.id, 'mosquitto', 'p99'), (r) => r <= 1.5, (r) => `${r.toFixed(2)}×`);
    } else if (scenario.budget === 'memory') {
      const counts = scenario[mode]?.counts ?? scenario.full.counts;
      const top = counts[counts.length - 1];
      check(
        `RSS per idle connection at ${top.toLocaleString('en-US')} ≤ 1.10 × Aedes on TCP`,
        value(scenario.id, 'library', `rss@${top}`),
        value(scenario.id, REFERENCE, `rss@${top}`),
        (r) => r <= 1.1,
        (r) => `${r.toFixed(2)}×`,
      );
    } else if (scenario.budget === 'dispatch') {
      check('Handler dispatch: throughput > @nestjs/microservices via Mosquitto', value(scenario.id, 'library-handler', 'rate'), value(scenario.id, 'microservices', 'rate'), (r) => r > 1, (r) => `${r.toFixed(2)}×`);
    } else if (scenario.budget === 'dispatch-latency') {
      check('Handler dispatch: p99 < @nestjs/microservices via Mosquitto', value(scenario.id, 'library-handler', 'p99'), value(scenario.id, 'microservices', 'p99'), (r) => r < 1, (r) => `${r.toFixed(2)}×`);
    }
  }
  return budgets;
}
