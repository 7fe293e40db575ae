import type { IncomingMessage } from 'node:http';
import type { MqttUpgradeRequest } from '../interfaces/mqtt-upgrade-request.interface.js';

/** What a connection keeps of its upgrade request; `connDetails` is where Aedes reads the client's address. */
export function keepUpgradeRequest(request: IncomingMessage): MqttUpgradeRequest {
  return {
    method: request.method,
    url: request.url,
    headers: request.headers,
    httpVersion: request.httpVersion,
    socket: request.socket,
    connDetails: undefined,
  } as MqttUpgradeRequest;
}
