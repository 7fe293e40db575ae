import type { IPublishPacket } from 'mqtt';

/** One message a test client received. */
export class MqttTestMessage {
  constructor(
    readonly topic: string,
    readonly payload: Buffer,
    /** The PUBLISH as MQTT.js parsed it: `qos`, `retain`, `dup`, `properties` (MQTT 5). */
    readonly packet: IPublishPacket,
  ) {}

  /** The payload parsed as JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.payload.toString('utf8')) as T;
  }

  /** The payload as UTF-8 text. */
  text(): string {
    return this.payload.toString('utf8');
  }
}
