/**
 * Where a measuring window's allocations came from, from a V8 sampling heap profile
 * (targets/window-probe.js, BENCH_HEAP_PROFILE): bytes per message by package, and the functions
 * that allocated most. A sample is charged to the function that allocated it, not its callers.
 */
import { readFileSync } from 'node:fs';

/** The package a frame belongs to, by its script's path. */
function packageOf(url) {
  if (url === '') return 'V8 and native';
  if (url.startsWith('node:')) return 'Node.js';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [scope, name] = url.slice(modules + '/node_modules/'.length).split('/');
    return scope.startsWith('@') ? `${scope}/${name}` : scope;
  }
  if (url.includes('/dist/')) return 'nestjs-mqtt-ws';
  return 'bench';
}

export function readAllocations(path, messages) {
  const profile = JSON.parse(readFileSync(path, 'utf8'));
  const byPackage = new Map();
  const byFunction = new Map();
  let total = 0;
  const visit = (node) => {
    if (node.selfSize > 0) {
      const { functionName, url, lineNumber } = node.callFrame;
      const file = url.replace(/.*\/node_modules\//, '').replace(/.*\/dist\//, 'dist/').replace(/.*\/bench\//, 'bench/');
      const where = `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
      const pkg = packageOf(url);
      byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + node.selfSize);
      byFunction.set(where, (byFunction.get(where) ?? 0) + node.selfSize);
      total += node.selfSize;
    }
    for (const child of node.children) visit(child);
  };
  visit(profile.head);
  const perMessage = (entries) => [...entries].sort((a, b) => b[1] - a[1]).map(([name, bytes]) => [name, bytes / messages]);
  return { bytesPerMessage: total / messages, byPackage: perMessage(byPackage), byFunction: perMessage(byFunction) };
}
