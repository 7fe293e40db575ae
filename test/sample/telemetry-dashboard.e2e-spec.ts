import { MqttResponseError, MqttService } from '../../lib/index.js';
import { VirtualDevice } from '../../sample/01-telemetry-dashboard/src/devices/virtual-device.js';
import { TestClient, type ReceivedMessage } from '../utils/mqtt-client.js';
import { LogRecorder, startSample, type RunningSample } from './sample-app.js';

/** The sample's MQTT contract, checked with plain MQTT.js clients as any device or app would use. */
describe('sample 01: telemetry dashboard, over MQTT', () => {
  const logs = new LogRecorder();
  let sample: RunningSample;
  const clients: TestClient[] = [];

  const connect = async (options: Parameters<typeof TestClient.connect>[1] = {}) => {
    const client = await TestClient.connect(sample.mqttUrl, options);
    clients.push(client);
    return client;
  };
  /** A client that announces itself as device `id`: client id = device id, last will on its status topic. */
  const connectDevice = (id: string) =>
    connect({ clientId: id, protocolVersion: 5, will: { topic: `devices/${id}/status`, payload: Buffer.from('offline'), qos: 1, retain: true } });
  /** What the dashboard page does: an MQTT 5 request with its response topic and correlation data; resolves with the answer. */
  const ask = async (dashboard: TestClient, topic: string, body: object, correlation: string): Promise<ReceivedMessage> => {
    const responseTopic = `dashboard/${dashboard.client.options.clientId}/responses`;
    await dashboard.subscribe(responseTopic, 1);
    const before = dashboard.received(responseTopic).length;
    await dashboard.publish(topic, body, { qos: 1, properties: { responseTopic, correlationData: Buffer.from(correlation) } });
    const answers = await dashboard.waitFor(before + 1, responseTopic);
    return answers[before];
  };
  const json = (payload: Buffer) => JSON.parse(payload.toString());

  beforeAll(async () => {
    sample = await startSample(logs);
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.end(true)));
    await sample?.app.close();
  });

  it('answers a hot reading with an alert that carries its temperature, and remembers the reading', async () => {
    const watcher = await connect();
    await watcher.subscribe('devices/d1/alerts', 1);
    const sensor = await connect();

    await sensor.publish('devices/d1/telemetry', { temperature: 72.5 }, { qos: 1 });

    const [alert] = await watcher.waitFor(1, 'devices/d1/alerts');
    expect(json(alert.payload)).toEqual({ temperature: 72.5, threshold: 50 });
    const devices = await (await fetch(`${sample.httpUrl}/api/devices`)).json();
    expect(devices).toContainEqual(expect.objectContaining({ id: 'd1', latest: expect.objectContaining({ temperature: 72.5 }) }));
  });

  it('rejects and logs an invalid reading, and raises no alert for it nor for readings at or under 50 °C', async () => {
    const watcher = await connect();
    await watcher.subscribe('devices/d2/alerts', 1);
    const sensor = await connect({ clientId: 'sensor-d2' });

    // QoS 1 and one at a time: each PUBACK comes after the handler (or its rejection) finished, so
    // any alert the earlier readings caused would reach the watcher before the last one's.
    await sensor.publish('devices/d2/telemetry', { temperature: 'hot' }, { qos: 1 });
    await sensor.publish('devices/d2/telemetry', 'not json', { qos: 1 });
    await sensor.publish('devices/d2/telemetry', { temperature: 49.9, humidity: 40 }, { qos: 1 });
    await sensor.publish('devices/d2/telemetry', { temperature: 50 }, { qos: 1 });
    await sensor.publish('devices/d2/telemetry', { temperature: 50.1 }, { qos: 1 });

    const [first] = await watcher.waitFor(1, 'devices/d2/alerts');
    expect(json(first.payload)).toEqual({ temperature: 50.1, threshold: 50 });
    expect(logs.messages('warn')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Rejected a reading on devices\/d2\/telemetry from sensor-d2: .*temperature must be a number/),
        expect.stringMatching(/devices\/d2\/telemetry.*sensor-d2.*not valid JSON/),
      ]),
    );
    // The sample's filter handled the rejection, so the library does not report a failed handler.
    expect(logs.messages('warn').filter((message) => message.includes('onTelemetry failed'))).toEqual([]);
  });

  it('keeps a retained status per device: online on connect, offline on disconnect', async () => {
    const observer = await connect();
    await observer.subscribe('devices/d3/status', 1);

    const device = await connectDevice('d3');
    const [online] = await observer.waitFor(1, 'devices/d3/status');
    expect(online.payload.toString()).toBe('online');
    const late = await connect();
    await late.subscribe('devices/d3/status', 1);
    const [retainedOnline] = await late.waitFor(1, 'devices/d3/status');
    expect(retainedOnline.payload.toString()).toBe('online');
    expect(retainedOnline.packet.retain).toBe(true);

    await device.end();
    const [, offline] = await observer.waitFor(2, 'devices/d3/status');
    expect(offline.payload.toString()).toBe('offline');
    const later = await connect();
    await later.subscribe('devices/d3/status', 1);
    const [retainedOffline] = await later.waitFor(1, 'devices/d3/status');
    expect(retainedOffline.payload.toString()).toBe('offline');
    expect(retainedOffline.packet.retain).toBe(true);
  });

  it('turns a device offline when its connection drops without a DISCONNECT', async () => {
    const observer = await connect();
    await observer.subscribe('devices/d4/status', 1);
    const device = await connectDevice('d4');
    await observer.waitFor(1, 'devices/d4/status');

    await device.end(true);

    const [, offline] = await observer.waitFor(2, 'devices/d4/status');
    expect(offline.payload.toString()).toBe('offline');
  });

  it('publishes no status for clients that are not devices', async () => {
    const observer = await connect();
    await observer.subscribe('devices/+/status', 1);

    await connect({ clientId: 'not-a-device' });
    await connect({ clientId: 'd5' }); // no will on its status topic: not a device either
    await connectDevice('d6');

    await observer.waitFor(1, 'devices/d6/status');
    const live = observer.received().filter((message) => !message.packet.retain); // earlier tests' devices are retained
    expect(live.map((message) => message.topic)).toEqual(['devices/d6/status']);
  });

  it("switches a device's LED by MQTT 5 request/response: dashboard → server → device, and the acknowledgement back", async () => {
    const device = await connectDevice('d7');
    await device.subscribe('devices/d7/commands', 1);
    const dashboard = await connect({ clientId: 'dash-1', protocolVersion: 5 });
    device.client.on('message', (topic, payload, packet) => {
      if (topic !== 'devices/d7/commands') return;
      // The firmware's side: apply, then answer on the response topic with the correlation data.
      void device.publish(packet.properties!.responseTopic!, payload, {
        qos: 1,
        properties: { correlationData: packet.properties!.correlationData, contentType: 'application/json' },
      });
    });

    const answer = await ask(dashboard, 'devices/d7/led', { led: 'on' }, 'click-1');

    expect(json(answer.payload)).toEqual({ led: 'on' });
    expect(answer.packet.properties?.correlationData?.toString()).toBe('click-1');
    expect(answer.packet.properties?.contentType).toBe('application/json');
    expect(answer.packet.properties?.userProperties).toBeUndefined();
    const [command] = device.received('devices/d7/commands');
    expect(json(command.payload)).toEqual({ led: 'on' });
  });

  it('answers a command for an offline device, and an invalid one, with an error response', async () => {
    const dashboard = await connect({ clientId: 'dash-2', protocolVersion: 5 });

    const offline = await ask(dashboard, 'devices/nowhere/led', { led: 'on' }, 'click-2');
    expect(offline.packet.properties?.userProperties).toEqual({ error: 'offline' });
    expect(json(offline.payload)).toEqual({ message: 'nowhere is offline', code: 'offline' });
    expect(offline.packet.properties?.correlationData?.toString()).toBe('click-2');

    const invalid = await ask(dashboard, 'devices/d7/led', { led: 'blue' }, 'click-3');
    expect(invalid.packet.properties?.userProperties).toEqual({ error: '400' });
    expect(json(invalid.payload).details.message).toEqual(['led must be one of the following values: on, off']);
  });

  it('has the virtual device acknowledge commands and refuse unknown ones, answering on the response topic', async () => {
    const device = new VirtualDevice('vd1', sample.mqttUrl, 60_000);
    await device.start();
    try {
      const mqtt = sample.app.get(MqttService);
      expect(await mqtt.request('devices/vd1/commands', { led: 'on' })).toEqual({ led: 'on' });
      const refusal = await mqtt.request('devices/vd1/commands', { led: 'blue' }).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(MqttResponseError);
      expect(refusal).toMatchObject({ code: 'invalid-command' });
    } finally {
      await device.stop();
    }
  });

  it('serves the dashboard and the MQTT.js browser bundle', async () => {
    const page = await fetch(sample.httpUrl);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<script src="vendor/mqtt.min.js">');
    const bundle = await fetch(`${sample.httpUrl}/vendor/mqtt.min.js`);
    expect(bundle.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
  });

  it('serves the favicon the page links to, also where browsers look without a link', async () => {
    const html = await (await fetch(sample.httpUrl)).text();
    expect(html).toContain('<link rel="icon" href="favicon.svg" type="image/svg+xml" />');
    for (const path of ['/favicon.svg', '/favicon.ico']) {
      const icon = await fetch(`${sample.httpUrl}${path}`);
      expect({ path, status: icon.status, type: icon.headers.get('content-type') }).toEqual({ path, status: 200, type: 'image/svg+xml' });
      expect(await icon.text()).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    }
  });
});
