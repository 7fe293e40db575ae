import type { MqttBroker, MqttClientInfo } from '../../../lib/broker/mqtt-broker.js';
import type { IPublishPacket } from 'mqtt-packet';
import type { ProtocolClient } from '../../protocol/protocol-client.js';

/** Disconnects a persistent client and resolves once its broker has ended the connection (its session is offline then). */
export async function goOffline(broker: MqttBroker, client: ProtocolClient, clientId: string): Promise<void> {
  const gone = new Promise<void>((resolve) => {
    const listener = (ended: MqttClientInfo) => {
      if (ended.id !== clientId) return;
      broker.off('clientDisconnected', listener);
      resolve();
    };
    broker.on('clientDisconnected', listener);
  });
  await client.disconnect();
  await gone;
}

/** Reads `count` PUBLISH packets, acknowledging each at QoS 1, and returns their payloads. */
export async function receive(client: ProtocolClient, count: number): Promise<string[]> {
  const packets = (await client.nextPackets(count, 5000)) as IPublishPacket[];
  for (const packet of packets) {
    if (packet.cmd !== 'publish') throw new Error(`expected PUBLISH, got ${packet.cmd}`);
    if (packet.qos === 1) client.send({ cmd: 'puback', messageId: packet.messageId });
  }
  return packets.map((packet) => packet.payload.toString());
}

/** `count` payloads `${prefix}${from}`, `${prefix}${from + 1}`, … */
export function payloads(count: number, prefix = '', from = 0): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${from + i}`);
}
