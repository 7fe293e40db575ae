/**
 * MQTT 5.0 Receive Maximum towards the server [MQTT 5.0 §3.3.4]: the CONNACK advertises
 * `maxInflightInbound`, and a v5 client that sends more unacknowledged QoS 2 PUBLISH packets than
 * that is told so with DISCONNECT 0x93 (Receive Maximum exceeded) before its connection closes
 * (lib/broker/aedes/inbound-qos2.limit.ts). A raw peer, because MQTT.js sends PUBREL at once.
 */
import 'reflect-metadata';
import type mqttPacket from 'mqtt-packet';
import { MqttWsModule } from '../../lib/index.js';
import { ProtocolClient } from '../protocol/protocol-client.js';
import { appForSuite } from '../utils/app.js';
import { TestClient } from '../utils/mqtt-client.js';

const RECEIVE_MAXIMUM = 3;

const publishQos2 = (messageId: number) => ({ cmd: 'publish', topic: 'rm-in/t', payload: 'x', qos: 2, messageId, retain: false, dup: false });

describe('MQTT 5.0 Receive Maximum towards the server', () => {
  const suite = appForSuite({ imports: [MqttWsModule.forRoot({ maxInflightInbound: RECEIVE_MAXIMUM })] });

  it('advertises maxInflightInbound as Receive Maximum and answers one QoS 2 PUBLISH too many with DISCONNECT 0x93', async () => {
    const { client: raw, connack } = await ProtocolClient.connect(suite.url, { clientId: 'rm-in-raw', protocolVersion: 5 });
    expect(connack.properties?.receiveMaximum).toBe(RECEIVE_MAXIMUM);
    for (let id = 1; id <= RECEIVE_MAXIMUM; id++) {
      expect(await raw.request(publishQos2(id))).toMatchObject({ cmd: 'pubrec', messageId: id });
    }
    const answer = (await raw.request(publishQos2(RECEIVE_MAXIMUM + 1))) as mqttPacket.IDisconnectPacket | undefined;
    expect(answer).toMatchObject({ cmd: 'disconnect', reasonCode: 0x93 });
    expect(await raw.closesWithin()).toBe(true);
  });

  it('keeps serving the other clients', async () => {
    const { client: raw } = await ProtocolClient.connect(suite.url, { clientId: 'rm-in-raw-2', protocolVersion: 5 });
    for (let id = 1; id <= RECEIVE_MAXIMUM + 1; id++) raw.send(publishQos2(id));
    await raw.closed;
    const subscriber = await TestClient.connect(suite.url, { protocolVersion: 5, clientId: 'rm-in-sub' });
    try {
      await subscriber.subscribe('rm-in/ok', 1);
      await subscriber.publish('rm-in/ok', 'still here', { qos: 1 });
      expect((await subscriber.waitFor(1, 'rm-in/ok'))[0].payload.toString()).toBe('still here');
    } finally {
      await subscriber.end();
    }
  });
});
