/**
 * Aedes 2.0.0-beta.1 was branched before fixes Aedes 1.2.0 carries; the adapter puts them back
 * (lib/broker/aedes/aedes-mqtt-broker.ts, inbound-qos2.limit.ts; docs/upstream-reports.md).
 */
import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { MqttWsModule } from '../../lib/index.js';
import { startApp } from '../utils/app.js';
import { TestClient } from '../utils/mqtt-client.js';
import { ProtocolClient } from '../protocol/protocol-client.js';
import type { MqttBroker } from '../../lib/broker/mqtt-broker.js';
import { MQTT_BROKER } from '../../lib/mqtt-ws.constants.js';

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

  it('[MQTT-3.1.2-6] forgets the QoS 2 message a clean session left awaiting PUBREL: the next session with that id is not told it is a duplicate', async () => {
    const broker = app.get<MqttBroker>(MQTT_BROKER);
    const subscriber = await TestClient.connect(url, { clientId: 'qos2-clean-sub' });
    await subscriber.subscribe('qos2clean/t', 2);
    const publish = { cmd: 'publish', topic: 'qos2clean/t', qos: 2, messageId: 5, retain: false, dup: false };
    const { client: first } = await ProtocolClient.connect(url, { clientId: 'qos2-clean' });
    expect((await first.request({ ...publish, payload: Buffer.from('one') }))?.cmd).toBe('pubrec');
    const gone = new Promise<void>((resolve) => broker.once('clientDisconnected', () => resolve()));
    await first.drop();
    await gone;
    // The store's delete is a promise: one more turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    const { client: second } = await ProtocolClient.connect(url, { clientId: 'qos2-clean' });
    expect((await second.request({ ...publish, payload: Buffer.from('two') }))?.cmd).toBe('pubrec');
    const messages = await subscriber.waitFor(2);
    expect(messages.map((message) => message.payload.toString())).toEqual(['one', 'two']);
    await second.drop();
    await subscriber.end();
  });
});
