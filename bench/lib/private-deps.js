import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * websocket-stream depends on ws@3, which has DoS advisories: the project must not depend on it, not
 * even for development. The suite installs both bridges into a private, git-ignored folder of its own
 * (bench/.deps) the first time it needs them, and the targets load them from there.
 */
export const PRIVATE_PACKAGES = ['websocket-stream', '@httptoolkit/websocket-stream'];

export function ensurePrivateDeps(benchDir, log) {
  const dir = join(benchDir, '.deps');
  const installed = (name) => existsSync(join(dir, 'node_modules', name, 'package.json'));
  const missing = PRIVATE_PACKAGES.filter((name) => !installed(name));
  let note = null;
  if (missing.length > 0) {
    log(`installing ${missing.join(', ')} into bench/.deps (outside the package's dependencies)…`);
    mkdirSync(dir, { recursive: true });
    if (!existsSync(join(dir, 'package.json'))) {
      writeFileSync(join(dir, 'package.json'), '{"name":"nestjs-mqtt-ws-bench-private-deps","private":true}\n');
    }
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const result = spawnSync(npm, ['install', '--prefix', dir, '--no-audit', '--no-fund', '--loglevel=error', ...missing], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (result.status !== 0) note = `npm install into bench/.deps failed: ${(result.stderr || result.error?.message || '').trim().split('\n')[0]}`;
  }
  return { dir, available: Object.fromEntries(PRIVATE_PACKAGES.map((name) => [name, installed(name)])), note };
}
