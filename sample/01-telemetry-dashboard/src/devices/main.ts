/**
 * The device simulator on its own, against any broker:
 *   npm run sample:devices -- --url ws://localhost:3000/mqtt [--devices d4,d5] [--interval 1000]
 * Device ids are MQTT client ids: run it against the sample started with SIMULATOR=off, or pick ids
 * the built-in simulator does not use (d1, d2, d3), or the two fleets take each other's connections.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_DEVICE_IDS, DeviceSimulator } from './device-simulator.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'ws://localhost:3000/mqtt' },
    devices: { type: 'string', default: DEFAULT_DEVICE_IDS.join(',') },
    interval: { type: 'string', default: '1000' },
  },
});

const deviceIds = values.devices.split(',').map((id) => id.trim()).filter(Boolean);
const intervalMs = Number(values.interval);
if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new Error(`--interval must be a positive number of ms, got "${values.interval}"`);

const simulator = await DeviceSimulator.start({ url: values.url, deviceIds, intervalMs }).catch((error: Error) => {
  console.error(`Could not connect the devices to ${values.url}: ${error.message}`);
  process.exit(1);
});
console.log(`${deviceIds.join(', ')} publishing to ${values.url} every ${intervalMs} ms; Ctrl-C stops them`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void simulator.stop());
}
