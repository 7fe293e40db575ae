/**
 * MQTT 5.0 with a second, independent client: Paho Python (python3-paho-mqtt), over WebSocket,
 * beside MQTT.js (test/utils/paho.ts drives test/utils/paho-mqtt5.py).
 */
import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import type { MqttBroker } from '../../lib/broker/mqtt-broker.js';
import { MqttWsModule } from '../../lib/index.js';
import { MqttReasonCode } from '../../lib/interfaces/mqtt5.interface.js';
import { MQTT_BROKER } from '../../lib/mqtt-ws.constants.js';
import { startApp } from '../utils/app.js';
import { TestClient } from '../utils/mqtt-client.js';
import { runPaho } from '../utils/paho.js';

describe('MQTT 5.0 with Paho Python', () => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot({})] }));
  });
  afterAll(async () => {
    await app.close();
  });

  it('connects with MQTT 5 and gets its message with every property unchanged and its subscription identifier; a 3.1.1 MQTT.js subscriber gets it without properties', async () => {
    const v4 = await TestClient.connect(url, { clientId: 'paho-mixed-v4' });
    await v4.subscribe('paho/t', 1);
    const { code, events, stderr } = await runPaho('properties', url).finished;
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const connack = events.find((event) => event.event === 'connack')!;
    expect(connack).toMatchObject({ reasonCode: 0, sharedAvailable: 1 });
    expect(events.find((event) => event.event === 'suback')).toMatchObject({ reasonCodes: [1] });
    expect(events.find((event) => event.event === 'message')).toMatchObject({
      topic: 'paho/t',
      payload: 'hello',
      qos: 1,
      properties: {
        UserProperty: [
          ['k', 'v'],
          ['k', 'w'],
        ],
        ContentType: 'text/plain',
        PayloadFormatIndicator: 1,
        ResponseTopic: 'paho/reply',
        CorrelationData: '0102',
        SubscriptionIdentifier: [7],
      },
    });
    const [atV4] = await v4.waitFor(1);
    expect(atV4.payload.toString()).toBe('hello');
    expect(atV4.packet.properties).toBeUndefined();
    await v4.end();
  });

  it('gets an Assigned Client Identifier for a zero-length client id', async () => {
    const { code, events } = await runPaho('assigned', url).finished;
    expect(code).toBe(0);
    expect(events.find((event) => event.event === 'connack')).toMatchObject({ reasonCode: 0, assigned: expect.stringMatching(/.+/) });
  });

  it('receives the server DISCONNECT with its reason code from MqttBroker.disconnect', async () => {
    const run = runPaho('kicked', url);
    await run.waitForEvent('connack');
    expect(app.get<MqttBroker>(MQTT_BROKER).disconnect('paho-kicked', { code: MqttReasonCode.AdministrativeAction, reasonString: 'bye' })).toBe(true);
    const { code, events } = await run.finished;
    expect(code).toBe(0);
    expect(events.find((event) => event.event === 'disconnect')).toMatchObject({ reasonCode: MqttReasonCode.AdministrativeAction });
  });
});
