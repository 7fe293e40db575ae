import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { MqttReasonCode, MqttService, MqttWsModule } from '../../lib/index.js';
import { startApp } from '../utils/app.js';
import { TestClient } from '../utils/mqtt-client.js';

describe('MqttService.disconnect', () => {
  let app: INestApplication;
  let url: string;
  let mqtt: MqttService;

  beforeAll(async () => {
    ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot()] }));
    mqtt = app.get(MqttService);
  });

  afterAll(async () => {
    await app.close();
  });

  it('closes an MQTT 3.1.1 client (it has no server DISCONNECT); false for a client that is not here', async () => {
    const client = await TestClient.connect(url, { clientId: 'v4-kicked', protocolVersion: 4 });
    const closed = new Promise<void>((resolve) => client.client.once('close', () => resolve()));
    expect(mqtt.disconnect('v4-kicked', { code: MqttReasonCode.AdministrativeAction, reasonString: 'maintenance' })).toBe(true);
    await closed;
    await client.end(true);
    expect(mqtt.disconnect('nobody')).toBe(false);
  });

  it('refuses a reason code a server DISCONNECT may not carry, naming the valid ones', () => {
    expect(() => mqtt.disconnect('x', MqttReasonCode.BadUserNameOrPassword)).toThrow(
      /^MqttService.disconnect: 134 is not a reason code a server DISCONNECT may carry .*AdministrativeAction/,
    );
    expect(() => mqtt.disconnect('', MqttReasonCode.ServerShuttingDown)).toThrow('clientId must be a non-empty string');
  });
});
