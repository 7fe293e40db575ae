import { existsSync } from 'node:fs';

/** Debian's chromium (Playwright cannot download its own browser here); CHROMIUM_PATH points elsewhere. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const IN_CI = process.env.CI === 'true';
const HAS_CHROMIUM = existsSync(CHROMIUM);

/**
 * `describe` for a browser suite: skipped with a loud banner without Chromium, and run (to fail in
 * `beforeAll`, see `assertChromium`) when CI=true, where .ci/run installs it.
 */
export function describeInChromium(what: string): jest.Describe {
  if (!HAS_CHROMIUM) {
    const bar = '!'.repeat(78);
    console.warn(
      `\n${bar}\n!! ${CHROMIUM} is missing: ${what} is ${IN_CI ? 'FAILING (CI=true)' : 'SKIPPED'}.\n` +
        `!! Install it with: apt-get install -y chromium\n${bar}\n`,
    );
  }
  return HAS_CHROMIUM || IN_CI ? describe : describe.skip;
}

export function assertChromium(): void {
  if (!HAS_CHROMIUM) throw new Error(`${CHROMIUM} is required when CI=true: .ci/run must apt-get install chromium`);
}
