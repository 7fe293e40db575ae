import type { INestApplicationContext } from '@nestjs/common';
import { MqttService } from '../mqtt.service.js';

/**
 * The URL a test client connects to, from the module itself (`MqttService.endpoints()`): the app's
 * port or the dedicated one for `'ws'`, the first `tcp` listener for `'tcp'`. An address that listens
 * on every interface is reached on loopback.
 */
export function findMqttEndpoint(app: INestApplicationContext, transport: 'ws' | 'tcp' | undefined): string {
  let service: MqttService;
  try {
    service = app.get(MqttService, { strict: false });
  } catch {
    throw new Error('MqttTestClient.connect: the app has no MqttService; import MqttWsModule.forRoot() in its module.');
  }
  const endpoints = service.endpoints();
  const webSocket = endpoints.find((url) => url.startsWith('ws'));
  const tcp = endpoints.find((url) => url.startsWith('mqtt'));
  const url = transport === 'tcp' ? tcp : transport === 'ws' ? webSocket : (webSocket ?? tcp);
  if (url === undefined) {
    const wanted = transport === 'tcp' ? 'a "tcp" listener' : 'the WebSocket endpoint';
    throw new Error(
      `MqttTestClient.connect: the app does not serve ${wanted} now (it serves ${endpoints.length === 0 ? 'none' : endpoints.join(', ')}). ` +
        (transport === 'tcp'
          ? 'Add MqttWsModule.forRoot({ tcp: { port: 0 } }).'
          : 'On the app\'s own port, the endpoint exists once `await app.listen(0)` resolved (app.init() alone does not listen).'),
    );
  }
  return url.replace('://0.0.0.0:', '://127.0.0.1:').replace('://[::]:', '://[::1]:');
}
