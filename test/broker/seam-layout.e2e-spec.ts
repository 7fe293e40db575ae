import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const LIB = join(process.cwd(), 'lib');
/** The packages whose internals the adapter uses: only lib/broker/aedes/ may import them. */
const BROKER_PACKAGES = /from '(aedes|mqtt-packet|aedes-persistence|mqemitter|aedes-packet)(\/[^']*)?'/;
/** Outside the adapter, only the factory that builds it names it. */
const ADAPTER_IMPORT = /from '[./]*(broker\/)?aedes\/[^']*'/;

function sources(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('the broker seam in the layout', () => {
  const outside = sources(LIB)
    .map((path) => relative(LIB, path))
    .filter((path) => !path.startsWith(join('broker', 'aedes')));

  it('has no file outside lib/broker/aedes/ importing Aedes, mqtt-packet or their companions', () => {
    const offenders = outside.filter((path) => BROKER_PACKAGES.test(readFileSync(join(LIB, path), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('has only the broker factory importing the adapter', () => {
    const importers = outside.filter((path) => ADAPTER_IMPORT.test(readFileSync(join(LIB, path), 'utf8')));
    expect(importers).toEqual([join('broker', 'mqtt-broker.factory.ts')]);
  });
});
