import mqttPacket from 'mqtt-packet';

interface SizedPublish {
  topic: string;
  payload: Buffer | string;
  qos: number;
  retain?: boolean;
  dup?: boolean;
  properties?: object;
}

/**
 * The bytes of a PUBLISH as an MQTT 5 client receives it, written with `topic` and, when given, the
 * Topic Alias `alias` (the client's Maximum Packet Size counts the whole packet [MQTT-3.1.2-24]).
 * Serializes the packet: only for clients that set a Maximum Packet Size.
 */
export function publishSize(packet: SizedPublish, topic = packet.topic, alias?: number): number {
  const { payload, qos, retain, dup } = packet;
  const properties = alias === undefined ? packet.properties : { ...packet.properties, topicAlias: alias };
  // The messageId is a placeholder: its two bytes count, not its value.
  return mqttPacket.generate({ cmd: 'publish', topic, payload, qos, retain, dup, messageId: qos > 0 ? 1 : undefined, properties } as mqttPacket.IPublishPacket, {
    protocolVersion: 5,
  }).length;
}
