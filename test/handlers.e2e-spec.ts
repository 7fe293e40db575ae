import 'reflect-metadata';
import { Injectable, type INestApplication } from '@nestjs/common';
import {
  ClientId,
  Ctx,
  MqttContext,
  MqttService,
  MqttSubscribe,
  MqttWsModule,
  Packet,
  Params,
  Payload,
  Topic,
} from '../lib/index.js';
import { startApp } from './utils/app.js';
import { Collector } from './utils/deferred.js';
import { TestClient } from './utils/mqtt-client.js';

const seen = {
  temperature: new Collector<{ reading: unknown; id: string; topic: string; clientId: string | null; celsius: unknown }>(),
  wildcard: new Collector<{ topic: string; params: Record<string, string> }>(),
  text: new Collector<unknown>(),
  buffer: new Collector<unknown>(),
  first: new Collector<string>(),
  second: new Collector<string>(),
  multi: new Collector<string>(),
  packet: new Collector<{ qos: number; retain: boolean; context: MqttContext }>(),
};

@Injectable()
class SensorsService {
  constructor(private readonly mqtt: MqttService) {}

  @MqttSubscribe('sensors/:deviceId/temperature')
  async onTemperature(
    @Payload() reading: { celsius: number },
    @Params('deviceId') id: string,
    @Topic() topic: string,
    @ClientId() clientId: string | null,
    @Payload('celsius') celsius: number,
  ) {
    seen.temperature.push({ reading, id, topic, clientId, celsius });
    await this.mqtt.publish(`alerts/${id}`, { celsius: reading.celsius }, { qos: 1 });
  }

  @MqttSubscribe('plant/:site/+/#')
  onAnything(@Topic() topic: string, @Params() params: Record<string, string>) {
    seen.wildcard.push({ topic, params: { ...params } });
  }

  @MqttSubscribe('formats/text', { payloadFormat: 'text' })
  onText(@Payload() text: string) {
    seen.text.push(text);
  }

  @MqttSubscribe('formats/buffer', { payloadFormat: 'buffer' })
  onBuffer(@Payload() bytes: Buffer) {
    seen.buffer.push(bytes);
  }

  @MqttSubscribe('shared/topic')
  first(@Payload() value: string) {
    seen.first.push(value);
  }

  @MqttSubscribe('shared/topic')
  second(@Payload() value: string) {
    seen.second.push(value);
  }

  @MqttSubscribe('multi/a')
  @MqttSubscribe(['multi/+', 'multi/#'])
  onMulti(@Topic() topic: string) {
    seen.multi.push(topic);
  }

  @MqttSubscribe('raw/+')
  onPacket(@Packet() packet: { qos: number; retain: boolean }, @Ctx() context: MqttContext) {
    seen.packet.push({ qos: packet.qos, retain: packet.retain, context });
  }
}

describe('@MqttSubscribe handlers', () => {
  let app: INestApplication;
  let url: string;
  let client: TestClient;

  beforeAll(async () => {
    ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot()], providers: [SensorsService] }));
    client = await TestClient.connect(url, { clientId: 'sensor-1' });
  });

  afterAll(async () => {
    await client.end();
    await app.close();
  });

  it('passes the decoded payload, named params, topic and client id, and the handler publishes a reply', async () => {
    await client.subscribe('alerts/+', 1);
    await client.publish('sensors/d7/temperature', { celsius: 91 }, { qos: 1 });
    const [call] = await seen.temperature.waitFor(1);
    expect(call).toEqual({
      reading: { celsius: 91 },
      id: 'd7',
      topic: 'sensors/d7/temperature',
      clientId: 'sensor-1',
      celsius: 91,
    });
    const [alert] = await client.waitFor(1, 'alerts/d7');
    expect(JSON.parse(alert.payload.toString())).toEqual({ celsius: 91 });
    expect(alert.packet.qos).toBe(1);
  });

  it("gives @Payload('property') undefined when the JSON payload is not an object", async () => {
    await client.publish('sensors/d8/temperature', '42', { qos: 1 });
    const calls = await seen.temperature.waitFor(2);
    expect(calls[1]).toMatchObject({ reading: 42, id: 'd8', celsius: undefined });
  });

  it('matches + and # wildcards and extracts named levels', async () => {
    await client.publish('plant/berlin/line4/oven/zone2', 'x');
    await client.publish('plant/paris/line1', 'y');
    const calls = await seen.wildcard.waitFor(2);
    expect(calls).toEqual([
      { topic: 'plant/berlin/line4/oven/zone2', params: { site: 'berlin' } },
      { topic: 'plant/paris/line1', params: { site: 'paris' } },
    ]);
  });

  it('decodes text and buffer payloads when asked', async () => {
    await client.publish('formats/text', 'not json at all');
    await client.publish('formats/buffer', Buffer.from([0, 1, 2, 255]));
    expect(await seen.text.waitFor(1)).toEqual(['not json at all']);
    const [bytes] = await seen.buffer.waitFor(1);
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect([...(bytes as Buffer)]).toEqual([0, 1, 2, 255]);
  });

  it('runs every handler of a topic once, and a method with several matching filters once', async () => {
    await client.publish('shared/topic', '"one"', { qos: 1 });
    await client.publish('multi/a', 'x', { qos: 1 });
    // A following message on the same handler proves no second run of 'multi/a' is still coming.
    await client.publish('multi/b', 'x', { qos: 1 });
    expect(await seen.first.waitFor(1)).toEqual(['one']);
    expect(await seen.second.waitFor(1)).toEqual(['one']);
    expect(await seen.multi.waitFor(2)).toEqual(['multi/a', 'multi/b']);
  });

  it('gives handlers the raw packet and the MqttContext', async () => {
    await client.publish('raw/one', 'x', { qos: 2 });
    const [{ qos, retain, context }] = await seen.packet.waitFor(1);
    expect(qos).toBe(2);
    expect(retain).toBe(false);
    expect(context).toBeInstanceOf(MqttContext);
    expect(context.topic).toBe('raw/one');
    expect(context.clientId).toBe('sensor-1');
    expect(context.pattern).toBe('raw/+');
    expect(context.request?.headers['sec-websocket-protocol']).toBe('mqtt');
  });

  it('runs handlers for messages published by the server, with a null client id', async () => {
    const before = seen.temperature.items.length;
    await app.get(MqttService).publish('sensors/s9/temperature', { celsius: 3 });
    const calls = await seen.temperature.waitFor(before + 1);
    expect(calls[before]).toMatchObject({ id: 's9', clientId: null, reading: { celsius: 3 } });
  });
});
