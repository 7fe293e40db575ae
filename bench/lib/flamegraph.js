import { CATEGORIES, frameCategory, sampleTimes } from './profile-categories.js';

/**
 * A flame graph (SVG) of a V8 `.cpuprofile`, from the samples within [fromUs, toUs]: the root at the
 * bottom, each frame as wide as the samples under it, coloured by its category (profile-categories.js;
 * a frame no rule names takes its caller's colour, lighter). Frames of the same function at the same
 * place in the stack are merged, whatever line they were called from. Hover a frame for its name,
 * file and share. No dependencies: the profile's call tree is already there.
 */
const WIDTH = 1200;
const ROW = 16;
const MIN_WIDTH = 0.3;
const colorOf = Object.fromEntries(CATEGORIES.map((c) => [c.id, c.color]));

export function renderFlameGraph(profile, { title, fromUs = -Infinity, toUs = Infinity }) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  // The merged tree: a child per distinct function under its caller.
  const root = { name: 'all', file: '', category: 'other', inferred: false, value: 0, children: new Map() };
  const pathOf = new Map();
  const framesOf = (id) => {
    if (pathOf.has(id)) return pathOf.get(id);
    const node = nodes.get(id);
    const up = parent.get(id);
    const frames = up === undefined ? [] : [...framesOf(up), node.callFrame];
    pathOf.set(id, frames);
    return frames;
  };
  let total = 0;
  for (const [id, time] of sampleTimes(profile)) {
    if (time < fromUs || time > toUs) continue;
    const frames = framesOf(id);
    if (frames.length === 1 && frames[0].functionName === '(idle)') continue;
    total++;
    root.value++;
    let at = root;
    for (const frame of frames) {
      const name = frame.functionName || '(anonymous)';
      const file = shortUrl(frame.url);
      const key = `${name} ${file}`;
      let child = at.children.get(key);
      if (!child) {
        const own = frameCategory(frame);
        child = { name, file, category: own ?? at.category, inferred: own === null, value: 0, children: new Map() };
        at.children.set(key, child);
      }
      child.value++;
      at = child;
    }
  }

  const rects = [];
  let depth = 0;
  const place = (node, x, level) => {
    const width = (node.value / Math.max(1, total)) * WIDTH;
    if (width < MIN_WIDTH) return;
    depth = Math.max(depth, level);
    rects.push({ node, x, width, level });
    let childX = x;
    for (const child of [...node.children.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      place(child, childX, level + 1);
      childX += (child.value / Math.max(1, total)) * WIDTH;
    }
  };
  place(root, 0, 0);

  const legendHeight = 40;
  const height = (depth + 1) * ROW + legendHeight + 30;
  const y = (level) => height - legendHeight - (level + 1) * ROW;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="monospace" font-size="11">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="4" y="16" font-size="13">${escape(title)} (${total} samples; hover a frame)</text>`,
  ];
  for (const { node, x, width, level } of rects) {
    const share = ((100 * node.value) / Math.max(1, total)).toFixed(1);
    const fill = node.inferred ? lighten(colorOf[node.category]) : colorOf[node.category];
    const label = width > 40 ? `<text x="${(x + 2).toFixed(1)}" y="${y(level) + 11}">${escape(fit(node.name, width))}</text>` : '';
    out.push(
      `<g><title>${escape(`${node.name} ${node.file} · ${share}%`)}</title><rect x="${x.toFixed(1)}" y="${y(level)}" width="${(width - 0.2).toFixed(1)}" height="${ROW - 1}" fill="${fill}"/>${label}</g>`,
    );
  }
  let legendX = 4;
  for (const category of CATEGORIES) {
    const ly = height - legendHeight + 14;
    out.push(`<rect x="${legendX}" y="${ly - 10}" width="10" height="10" fill="${category.color}"/><text x="${legendX + 14}" y="${ly}">${escape(category.label)}</text>`);
    legendX += 24 + category.label.length * 6.6;
  }
  out.push('</svg>');
  return out.join('\n');
}

function shortUrl(url) {
  if (!url) return '';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) return url.slice(modules + 'node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  const bench = url.indexOf('/bench/');
  return bench >= 0 ? url.slice(bench + 1) : url.replace(/^file:\/\//, '');
}

function fit(text, width) {
  const chars = Math.floor((width - 4) / 6.6);
  return text.length <= chars ? text : `${text.slice(0, Math.max(0, chars - 1))}…`;
}

function lighten(hex) {
  const n = parseInt(hex.slice(1), 16);
  const mix = (c) => Math.round(c + (255 - c) * 0.45);
  return `rgb(${mix(n >> 16)},${mix((n >> 8) & 255)},${mix(n & 255)})`;
}

function escape(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
