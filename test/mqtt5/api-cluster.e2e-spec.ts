/**
 * MQTT 5 request/response across two instances on one private Redis (issue 13 item 4, the API half):
 * `MqttService.request` on A answered by an MQTT 5 client connected to B, and a handler's answer on B
 * reaching the requester's response-topic subscription on A.
 */
import { jest } from '@jest/globals';
import type { IPublishPacket } from 'mqtt';
import { InstanceProcess, killAllInstances } from '../cluster/utils/instance-process.js';
import { describeWithRedis, RedisServer } from '../cluster/utils/redis-server.js';
import { TestClient } from '../utils/mqtt-client.js';

jest.setTimeout(60_000);

describeWithRedis('MQTT 5 request/response across instances on Redis', () => {
  let redis: RedisServer;
  let a: InstanceProcess;
  let b: InstanceProcess;
  const clients: TestClient[] = [];
  const connect = async (url: string, clientId: string) => {
    const client = await TestClient.connect(url, { protocolVersion: 5, clientId });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    redis = await RedisServer.start();
    [a, b] = await Promise.all([InstanceProcess.start('A', redis.url, 'rr:'), InstanceProcess.start('B', redis.url, 'rr:')]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.end(true)));
    await killAllInstances();
    await redis?.stop();
  });

  it("resolves MqttService.request on A with the answer of an MQTT 5 client connected to B", async () => {
    const responder = await connect(b.url, 'rr-responder');
    await responder.subscribe('rr/ask', 1);
    responder.client.on('message', (topic, payload, packet: IPublishPacket) => {
      if (topic !== 'rr/ask') return;
      void responder.publish(packet.properties!.responseTopic!, { got: JSON.parse(payload.toString()), at: 'B' }, {
        qos: 1,
        properties: { correlationData: packet.properties!.correlationData, contentType: 'application/json' },
      });
    });
    expect(await a.mqttRequest('rr/ask', { q: 1 })).toEqual({ got: { q: 1 }, at: 'B' });
  });

  it("delivers a handler's answer on B to the requester's response topic subscription on A", async () => {
    const listener = await connect(a.url, 'rr-listener');
    await listener.subscribe('rr/answers', 1);
    const requester = await connect(b.url, 'rr-requester');
    await requester.publish('rpc/echo', '{"n":3}', { qos: 1, properties: { responseTopic: 'rr/answers', correlationData: Buffer.from('x-1') } });
    const [answer] = await listener.waitFor(1, 'rr/answers');
    expect(JSON.parse(answer.payload.toString())).toEqual({ echoed: { n: 3 }, by: 'B' });
    expect(answer.packet.properties?.correlationData?.toString()).toBe('x-1');
  });
});
