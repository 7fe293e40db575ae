/** How the report prints values, ratios and CPU shares. */

export function formatValue(value, unit) {
  if (value === undefined || value === null || !Number.isFinite(value)) return '—';
  if (unit === 'rate') return Math.round(value).toLocaleString('en-US');
  if (unit === 'bytes') return `${(value / 1024).toFixed(1)} KiB`;
  if (unit === 'ms') return value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0);
  return String(value);
}

export function formatShort(value, unit) {
  if (value === undefined || value === null || !Number.isFinite(value)) return '—';
  if (unit === 'rate') return value >= 10_000 ? `${(value / 1000).toFixed(0)}k` : value >= 1000 ? `${(value / 1000).toFixed(1)}k` : value.toFixed(0);
  return formatValue(value, unit);
}

export function formatRatio(ratio) {
  if (ratio === undefined || ratio === null || !Number.isFinite(ratio)) return '—';
  return `${ratio < 10 ? ratio.toFixed(2) : ratio.toFixed(1)}×`;
}

export function formatShare(share) {
  return share === undefined || share === null || !Number.isFinite(share) ? '—' : `${Math.round(share)}%`;
}
