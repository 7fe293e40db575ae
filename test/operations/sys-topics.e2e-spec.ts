import 'reflect-metadata';
import { Injectable, type INestApplication } from '@nestjs/common';
import { MqttWsModule, type MqttAuthPolicy, type MqttSubscribeAuthContext } from '../../lib/index.js';
import { MqttSysPublisher } from '../../lib/sys/sys-publisher.js';
import { readsSys } from '../../lib/sys/sys-topics.stage.js';
import { startApp } from '../utils/app.js';
import { brokerOf } from '../utils/broker.js';
import { TestClient } from '../utils/mqtt-client.js';

/** Operators read the statistics; devices do not. */
@Injectable()
class OpsReadSys implements MqttAuthPolicy {
  authenticate() {
    return true;
  }

  authorizeSubscribe({ client, topic }: MqttSubscribeAuthContext) {
    return topic.startsWith('$SYS/') ? client.username === 'ops' : true;
  }
}

/** A policy that leaves subscriptions to the default. */
@Injectable()
class ConnectOnly implements MqttAuthPolicy {
  authenticate() {
    return true;
  }
}

/** Resolves with the first payload on `topic` that `accept` takes (retained ones included). */
function nextValue(client: TestClient, topic: string, accept: (value: string) => boolean = () => true): Promise<string> {
  const seen = client.received(topic).map((message) => message.payload.toString()).find(accept);
  if (seen !== undefined) return Promise.resolve(seen);
  return new Promise((resolve) => {
    const listener = (received: string, payload: Buffer) => {
      if (received !== topic || !accept(payload.toString())) return;
      client.client.off('message', listener);
      resolve(payload.toString());
    };
    client.client.on('message', listener);
  });
}

/** The SUBACK's return codes (MQTT.js rejects on 0x80, with the SUBACK). */
const grants = (client: TestClient, filter: string): Promise<number[]> =>
  client.subscribe(filter, 0).then(
    (granted) => granted.map((grant) => grant.qos),
    (error: { packet?: { granted?: number[] } }) => error.packet?.granted ?? Promise.reject(error),
  );

describe('$SYS/broker statistics (sysInterval)', () => {
  let app: INestApplication;
  let url: string;
  const open: TestClient[] = [];

  beforeAll(async () => {
    ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot({ sysInterval: 0.1, auth: OpsReadSys })], providers: [OpsReadSys] }));
  });

  afterAll(async () => {
    await Promise.all(open.map((client) => client.end(true)));
    await app.close();
  });

  it('publishes retained values like Mosquitto, to a client the policy allows', async () => {
    const ops = await TestClient.connect(url, { clientId: 'ops', username: 'ops' });
    const device = await TestClient.connect(url, { clientId: 'device', username: 'device' });
    open.push(ops, device);
    expect(await grants(ops, '$SYS/broker/#')).toEqual([0]);

    expect(await nextValue(ops, '$SYS/broker/version')).toMatch(/^nestjs-mqtt-ws \d+\.\d+\.\d+/);
    expect(await nextValue(ops, '$SYS/broker/uptime')).toMatch(/^\d+ seconds$/);
    expect(await nextValue(ops, '$SYS/broker/clients/connected', (value) => value === '2')).toBe('2');
    // ops' own subscription is one.
    expect(await nextValue(ops, '$SYS/broker/subscriptions/count', (value) => value === '1')).toBe('1');

    await device.publish('telemetry/a', 'x', { qos: 1 });
    await device.publish('telemetry/b', 'x', { qos: 0 });
    expect(await nextValue(ops, '$SYS/broker/messages/received', (value) => value === '2')).toBe('2');
    expect(Number(await nextValue(ops, '$SYS/broker/bytes/received', (value) => Number(value) > 0))).toBeGreaterThan(0);
    expect(Number(await nextValue(ops, '$SYS/broker/messages/sent', (value) => Number(value) > 0))).toBeGreaterThan(0);
    expect(Number(await nextValue(ops, '$SYS/broker/bytes/sent', (value) => Number(value) > 0))).toBeGreaterThan(0);

    // Retained: a later subscriber gets the values at once.
    const late = await TestClient.connect(url, { clientId: 'late', username: 'ops' });
    open.push(late);
    await late.subscribe('$SYS/broker/clients/connected');
    expect((await late.waitFor(1, '$SYS/broker/clients/connected'))[0].packet.retain).toBe(true);
  });

  it('gives them to nobody the policy does not allow', async () => {
    const device = await TestClient.connect(url, { clientId: 'device-2', username: 'device' });
    open.push(device);
    expect(await grants(device, '$SYS/broker/#')).toEqual([128]);
  });

  it('stops its timer on shutdown', async () => {
    const { app: other } = await startApp({ imports: [MqttWsModule.forRoot({ sysInterval: 60 })] });
    const publisher = other.get(MqttSysPublisher) as unknown as { timer?: NodeJS.Timeout };
    expect(publisher.timer?.hasRef()).toBe(false);
    await other.close();
    expect(publisher.timer).toBeUndefined();
  });
});

describe('$SYS/broker: the rule without an explicit allowance', () => {
  it('refuses $SYS/broker filters to everyone without a policy, and keeps Aedes\' $SYS/<id>/ topics apart', async () => {
    const { app, url } = await startApp({ imports: [MqttWsModule.forRoot({ sysInterval: 0.1 })] });
    const client = await TestClient.connect(url, { clientId: 'anyone' });
    expect(await grants(client, '$SYS/broker/#')).toEqual([128]);
    expect(await grants(client, '$SYS/#')).toEqual([128]);
    expect(await grants(client, '$SYS/+/clients/connected')).toEqual([128]);
    expect(await grants(client, '$SYS/broker/uptime')).toEqual([128]);
    // The broker's own reports too: they carry the ids of connecting clients.
    expect(await grants(client, `$SYS/${brokerOf(app).id}/heartbeat`)).toEqual([128]);
    expect(await grants(client, '$SYS/+/new/clients')).toEqual([128]);
    expect(await grants(client, 'telemetry/#')).toEqual([0]);
    await client.end();
    await app.close();
  });

  it('refuses them with a policy that leaves subscriptions to the default', async () => {
    const { app, url } = await startApp({ imports: [MqttWsModule.forRoot({ sysInterval: 0.1, auth: ConnectOnly })], providers: [ConnectOnly] });
    const client = await TestClient.connect(url, { clientId: 'anyone' });
    expect(await grants(client, '$SYS/broker/#')).toEqual([128]);
    await client.end();
    await app.close();
  });

  it('tells which filters can read $SYS/', () => {
    for (const filter of ['$SYS/broker/#', '$SYS/#', '$SYS/+/uptime', '$SYS/broker', '$SYS', '$SYS/abc/heartbeat', '$SYS/+/new/clients']) expect([filter, readsSys(filter)]).toEqual([filter, true]);
    for (const filter of ['#', '+/broker/#', '+/+/heartbeat', '$SYSTEM/broker/x', 'a/$SYS/broker']) expect([filter, readsSys(filter)]).toEqual([filter, false]);
  });

  it("refuses the broker's own $SYS reports without sysInterval too, and gives them to a policy that allows them", async () => {
    const plain = await startApp({ imports: [MqttWsModule.forRoot()] });
    const anyone = await TestClient.connect(plain.url, { clientId: 'anyone' });
    expect(await grants(anyone, '$SYS/+/new/clients')).toEqual([128]);
    expect(await grants(anyone, '$SYS/#')).toEqual([128]);
    await anyone.end();
    await plain.app.close();

    const allowing = await startApp({ imports: [MqttWsModule.forRoot({ auth: { useValue: { authorizeSubscribe: () => true } } })] });
    const admin = await TestClient.connect(allowing.url, { clientId: 'admin' });
    expect(await grants(admin, '$SYS/+/new/clients')).toEqual([0]);
    await admin.end();
    await allowing.app.close();
  });

  it('fails at start-up on a bad sysInterval, or an id that would mix with $SYS/broker/', async () => {
    await expect(startApp({ imports: [MqttWsModule.forRoot({ sysInterval: -1 })] })).rejects.toThrow(/"sysInterval" must be a number of seconds/);
    await expect(startApp({ imports: [MqttWsModule.forRoot({ sysInterval: 10, id: 'broker' })] })).rejects.toThrow(/"id" must be another id than "broker"/);
  });
});
