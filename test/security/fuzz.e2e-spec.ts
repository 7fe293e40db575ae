import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import type { MqttBroker } from '../../lib/broker/mqtt-broker.js';
import { MqttWsModule } from '../../lib/index.js';
import { startApp } from '../utils/app.js';
import { RawMqttSocket } from '../utils/raw-mqtt-socket.js';
import { HealthyStream } from './utils/healthy-stream.js';
import { fuzzFrames } from './utils/packet-fuzzer.js';
import { Random } from './utils/random.js';
import { aedesOf, brokerOf } from '../utils/broker.js';

/**
 * `npm run fuzz` runs it at full size; `FUZZ_SEED` replays a run. In the test suite, a reduced run.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20240611);
const FRAMES = Number(process.env.FUZZ_FRAMES ?? 6000);
const FRAMES_PER_CONNECTION = 12;
const CONCURRENT = 4;

describe(`fuzzing over WebSocket (seed ${SEED}, ${FRAMES} frames)`, () => {
  let app: INestApplication;
  let url: string;
  const failures: unknown[] = [];
  const onFailure = (error: unknown) => failures.push(error);

  beforeAll(async () => {
    process.on('unhandledRejection', onFailure);
    process.on('uncaughtException', onFailure);
    ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot({ connectTimeout: 1000 })] }));
  });

  afterAll(async () => {
    await app.close();
    process.off('unhandledRejection', onFailure);
    process.off('uncaughtException', onFailure);
  });

  it('never crashes, and a healthy QoS 1 stream is delivered completely', async () => {
    const broker = brokerOf(app);
    const healthy = await HealthyStream.start(url, 'fuzz-healthy');
    await healthy.progress(3);
    const random = new Random(SEED);
    const connections = Math.ceil(FRAMES / FRAMES_PER_CONNECTION);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < connections) {
        next++;
        const raw = await RawMqttSocket.open(url);
        raw.socket.on('error', () => undefined);
        for (const frame of fuzzFrames(random, FRAMES_PER_CONNECTION)) {
          if (raw.socket.readyState !== raw.socket.OPEN) break;
          raw.send(frame.data, frame.binary);
        }
        await raw.close();
      }
    };
    await Promise.all(Array.from({ length: CONCURRENT }, worker));
    await healthy.finish();
    expect(failures).toEqual([]);
    // Every hostile client is gone: the healthy ones ended too, so the broker is back to none.
    if (broker.connectedClients !== 0) await new Promise<void>((resolve) => broker.on('clientDisconnected', () => broker.connectedClients === 0 && resolve()));
    expect(Object.keys((aedesOf(app) as unknown as { clients: object }).clients)).toEqual([]);
  });
});
