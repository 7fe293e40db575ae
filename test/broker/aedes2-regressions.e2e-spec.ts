/**
 * Aedes 2.0.0-beta.1 was branched before fixes Aedes 1.2.0 carries; the adapter puts them back
 * (lib/broker/aedes/aedes-mqtt-broker.ts, inbound-qos2.limit.ts; docs/upstream-reports.md).
 */
import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { MqttWsModule } from '../../lib/index.js';
import { startApp } from '../utils/app.js';
import { TestClient } from '../utils/mqtt-client.js';

describe('Aedes 2 beta: fixes of 1.2.0 it lacks', () => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot({})] }));
  });
  afterAll(async () => {
    await app.close();
  });

  it.each(['constructor', '__proto__', 'hasOwnProperty'])(
    'GHSA-52qw-whmv-87c5: serves a client whose id and filter are %s, and another client after it',
    async (name) => {
      const client = await TestClient.connect(url, { clientId: name, reconnectPeriod: 0 });
      await client.subscribe(name, 1);
      await client.publish(name, 'x', { qos: 1 });
      const [message] = await client.waitFor(1, name);
      expect(message.payload.toString()).toBe('x');
      await client.end();
      const other = await TestClient.connect(url, { clientId: `after-${name.replace(/_/g, '')}`, reconnectPeriod: 0 });
      expect(other.client.connected).toBe(true);
      await other.end();
    },
  );
});
