import mqtt, { type IClientOptions } from 'mqtt';
import { upgradeStatus } from '../../utils/raw-mqtt-socket.js';

/** Connects with MQTT.js and returns the CONNACK return code (0 when accepted), closing the client. */
export async function connackCode(url: string, options: IClientOptions = {}): Promise<number> {
  try {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    await client.endAsync(true);
    return 0;
  } catch (error) {
    const code = (error as { code?: number }).code;
    if (typeof code === 'number') return code;
    throw error;
  }
}

/** A WebSocket handshake with the given headers: the HTTP status (101 when upgraded). */
export async function handshakeStatus(url: string, headers: Record<string, string> = {}, protocols: string | string[] = 'mqtt'): Promise<number> {
  return (await upgradeStatus(url, protocols, headers)).status;
}
