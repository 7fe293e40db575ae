/// <reference lib="dom" />
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { TestClient } from '../utils/mqtt-client.js';
import { startSample, type RunningSample } from './sample-app.js';
import { assertChromium, CHROMIUM, CHROMIUM_ARGS, describeInChromium } from '../utils/chromium.js';

/** The README's picture is refreshed on request only (UPDATE_SCREENSHOT=1): a test run leaves the checkout as it was. */
const SCREENSHOT = process.env.UPDATE_SCREENSHOT
  ? fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url))
  : join(tmpdir(), `nestjs-mqtt-ws-dashboard-${process.pid}.png`);

describeInChromium("the dashboard's browser test")('sample 01: the dashboard in Chromium', () => {
  let sample: RunningSample;
  let userDataDir: string;
  let browser: BrowserContext;
  let page: Page;
  const devices: Record<string, TestClient> = {};
  /** Responses of 400 and more, and requests that failed, during the whole visit (a missing favicon was one). */
  const failedRequests: string[] = [];

  /** What a device firmware does: client id = device id, a last will on its status topic, a retained LED state. */
  const connectDevice = async (id: string) => {
    const client = await TestClient.connect(sample.mqttUrl, {
      clientId: id,
      protocolVersion: 5,
      will: { topic: `devices/${id}/status`, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    devices[id] = client;
    await client.subscribe(`devices/${id}/commands`, 1);
    await client.publish(`devices/${id}/state`, { led: 'off' }, { qos: 1, retain: true });
    return client;
  };
  const text = (selector: string) => page.locator(selector).first();
  const waitForText = (selector: string, expected: string) =>
    page.waitForFunction(([css, value]) => document.querySelector(css)?.textContent?.includes(value), [selector, expected]);

  beforeAll(async () => {
    assertChromium();
    sample = await startSample();
    for (const id of ['d1', 'd2', 'd3']) await connectDevice(id);
    // launch() refuses --user-data-dir; a persistent context on a fresh directory is the same thing.
    userDataDir = await mkdtemp(join(tmpdir(), 'dashboard-chromium-'));
    browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      headless: true,
      viewport: { width: 1040, height: 460 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    // A fixed clock keeps the alert times, and so the screenshot, the same from run to run; timers still run.
    await page.clock.setFixedTime(new Date('2026-01-01T12:00:00'));
    page.on('response', (response) => {
      if (response.status() >= 400) failedRequests.push(`${response.status()} ${response.url()}`);
    });
    page.on('requestfailed', (request) => failedRequests.push(`${request.failure()?.errorText} ${request.url()}`));
    await page.goto(sample.httpUrl);
    await page.locator('#connection[data-state="live"]').waitFor();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
    if (!process.env.UPDATE_SCREENSHOT) await rm(SCREENSHOT, { force: true });
    await Promise.all(Object.values(devices).map((device) => device.end(true)));
    await sample?.app.close();
  });

  it('shows on a first visit what `npm start` shows: the devices reporting, no alert yet; takes the README screenshot', async () => {
    // What the simulator's devices send, about half a minute of it: readings between 20 and 28 °C.
    const readings = (i: number) => ({
      d1: { temperature: 22 + 1.5 * Math.sin(i / 4), humidity: 44 + (i % 5) },
      d2: { temperature: 25.5 + Math.cos(i / 6), humidity: 38 + (i % 3) },
      d3: { temperature: 24 + 0.8 * Math.sin(i / 3) + i / 30, humidity: 52 - (i % 4) },
    });
    const round = (value: number) => Math.round(value * 10) / 10;
    for (let i = 1; i <= 30; i++) {
      for (const [id, { temperature, humidity }] of Object.entries(readings(i))) {
        await devices[id].publish(`devices/${id}/telemetry`, { temperature: round(temperature), humidity });
      }
    }
    for (const [id, { temperature }] of Object.entries(readings(30))) {
      await waitForText(`[data-device="${id}"] .temperature`, round(temperature).toFixed(1));
      expect(await text(`[data-device="${id}"] .status`).textContent()).toBe('online');
      expect(await text(`[data-device="${id}"] .led-state`).textContent()).toBe('off');
    }
    expect(await page.locator('#no-alerts').isVisible()).toBe(true);
    expect(await page.locator('link[rel="icon"]').getAttribute('href')).toBe('favicon.svg');
    expect(failedRequests).toEqual([]);

    await page.mouse.move(0, 0); // no hover effect in the picture
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('shows a reading that a device publishes, with the device online', async () => {
    await devices.d1.publish('devices/d1/telemetry', { temperature: 21.5, humidity: 44 });

    await waitForText('[data-device="d1"] .temperature', '21.5');
    expect(await text('[data-device="d1"] .humidity').textContent()).toBe('44');
    expect(await text('[data-device="d1"] .status').textContent()).toBe('online');
  });

  it('asks for a command when the device button is clicked, and shows the acknowledgement and the state the device reports', async () => {
    await page.locator('[data-device="d2"] .led-toggle', { hasText: 'Turn LED on' }).click();

    // The server relays the page's request to the device as an MQTT 5 request of its own.
    const [command] = await devices.d2.waitFor(1, 'devices/d2/commands');
    expect(JSON.parse(command.payload.toString())).toEqual({ led: 'on' });
    const { responseTopic, correlationData } = command.packet.properties ?? {};
    expect(responseTopic).toEqual(expect.any(String));
    await devices.d2.publish('devices/d2/state', { led: 'on' }, { qos: 1, retain: true });
    await devices.d2.publish(responseTopic!, { led: 'on' }, { qos: 1, properties: { correlationData, contentType: 'application/json' } });
    await waitForText('[data-device="d2"] .command-status', 'd2 acknowledged: LED on');
    await waitForText('[data-device="d2"] .led-toggle', 'Turn LED off');
    expect(await text('[data-device="d2"] .led-state').textContent()).toBe('on');
  });

  it('shows an alert for a hot reading', async () => {
    // Some history for each chart, d3 heating up to the reading that raises the alert.
    for (let i = 1; i <= 40; i++) {
      await devices.d1.publish('devices/d1/telemetry', { temperature: 21.5 + 2 * Math.sin(i / 5), humidity: 44 + (i % 7) });
      await devices.d2.publish('devices/d2/telemetry', { temperature: 26 + Math.cos(i / 7) + i / 40, humidity: 38 });
      await devices.d3.publish('devices/d3/telemetry', { temperature: 30 + (i / 40) ** 4 * 18, humidity: 30 });
    }
    await devices.d3.publish('devices/d3/telemetry', { temperature: 72.5, humidity: 29 }, { qos: 1 });

    await waitForText('#alerts li[data-device="d3"]', '72.5');
    expect(await text('#alerts li').textContent()).toContain('d3 reported 72.5 °C');
    expect(await page.locator('.card[data-device="d3"]').getAttribute('class')).toContain('hot');
    await waitForText('[data-device="d1"] .temperature', (21.5 + 2 * Math.sin(40 / 5)).toFixed(1));
    await waitForText('[data-device="d2"] .temperature', (26 + Math.cos(40 / 7) + 1).toFixed(1));
    expect(failedRequests).toEqual([]);
  });
});
