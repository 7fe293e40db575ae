import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { DeviceSimulator } from './devices/device-simulator.js';

const port = Number(process.env.PORT ?? 3000);
const logger = new Logger('Sample');

const app = await NestFactory.create(AppModule);
await app.listen(port);
logger.log(`Dashboard on http://localhost:${port}/, MQTT on ws://localhost:${port}/mqtt`);

// The devices connect like any outside client would, over the app's own WebSocket.
const simulator =
  process.env.SIMULATOR === 'off' ? undefined : await DeviceSimulator.start({ url: `ws://localhost:${port}/mqtt` });
if (simulator) logger.log(`Simulating ${simulator.devices.map((device) => device.id).join(', ')} (SIMULATOR=off disables)`);

// Devices leave first, so they do not keep reconnecting to a closing app; then the app closes
// every remaining MQTT connection and the broker, and the process ends on its own.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    await simulator?.stop();
    await app.close();
  });
}
