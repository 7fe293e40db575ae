import { randomBytes } from 'node:crypto';
import type { MqttBroker, MqttPublishPacket } from '../broker/mqtt-broker.js';
import { ERROR_USER_PROPERTY, MqttRequestTimeoutError, MqttResponseError } from './mqtt-response-error.js';

/** The topic under which each instance receives the responses to its requests: `<prefix><brokerId>`. */
export const RESPONSE_TOPIC_PREFIX = 'nestjs-mqtt-ws/responses/';

interface PendingRequest {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * The requesting side of MQTT 5 request/response for `MqttService.request`: one response topic per
 * instance, subscribed on the broker's emitter on first use, and the pending requests by correlation data.
 */
export class MqttRequester {
  readonly responseTopic: string;
  private readonly pending = new Map<string, PendingRequest>();
  private listening: Promise<void> | undefined;

  constructor(private readonly broker: MqttBroker) {
    this.responseTopic = `${RESPONSE_TOPIC_PREFIX}${broker.id}`;
  }

  /** Registers a request; returns its correlation data and the promise of its response. */
  async open(topic: string, timeout: number): Promise<{ correlationData: Buffer; response: Promise<unknown> }> {
    await (this.listening ??= this.listen());
    // Random, so a client cannot answer a request it did not receive by guessing a counter.
    const correlationData = randomBytes(16);
    const key = correlationData.toString('hex');
    const response = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        reject(new MqttRequestTimeoutError(topic, timeout));
      }, timeout);
      this.pending.set(key, { resolve, reject, timer });
    });
    // The caller awaits the response only once the request is published, which in-process handlers
    // may delay past the timeout: a rejection before then must not count as unhandled.
    response.catch(() => undefined);
    return { correlationData, response };
  }

  /** Forgets a request whose publish failed. */
  cancel(correlationData: Buffer): void {
    const key = correlationData.toString('hex');
    const entry = this.pending.get(key);
    if (entry === undefined) return;
    clearTimeout(entry.timer);
    this.pending.delete(key);
  }

  /** Rejects every pending request: the application is shutting down. */
  close(): void {
    for (const entry of this.pending.values()) {
      clearTimeout(entry.timer);
      entry.reject(new Error('MqttService.request: the application is shutting down'));
    }
    this.pending.clear();
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.broker.subscribe(this.responseTopic, (packet, done) => {
        this.settle(packet);
        done();
      }, (error) => (error ? reject(error) : resolve()));
    });
  }

  private settle(packet: MqttPublishPacket): void {
    const correlationData = packet.properties?.correlationData;
    if (correlationData === undefined) return;
    const key = Buffer.from(correlationData).toString('hex');
    const entry = this.pending.get(key);
    if (entry === undefined) return;
    this.pending.delete(key);
    clearTimeout(entry.timer);
    const error = decodeError(packet);
    if (error !== undefined) return entry.reject(error);
    try {
      entry.resolve(decodeResponse(packet));
    } catch (parseError) {
      entry.reject(new Error(`MqttService.request: the response says it is JSON but is not: ${(parseError as Error).message}`));
    }
  }
}

/**
 * A response's payload by its MQTT 5 format: JSON for a JSON content type (`application/json`,
 * `…+json`), a string for UTF-8 text (payload format indicator 1), a Buffer otherwise.
 */
export function decodeResponse(packet: MqttPublishPacket): unknown {
  const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
  const contentType = packet.properties?.contentType;
  if (contentType !== undefined && isJsonContentType(contentType)) return payload.length === 0 ? null : JSON.parse(payload.toString());
  if (packet.properties?.payloadFormatIndicator === true) return payload.toString();
  return payload;
}

function decodeError(packet: MqttPublishPacket): MqttResponseError | undefined {
  const code = packet.properties?.userProperties?.[ERROR_USER_PROPERTY];
  if (code === undefined) return undefined;
  let body: { message?: unknown; details?: unknown } = {};
  try {
    body = JSON.parse(packet.payload.toString()) ?? {};
  } catch {
    // A responder that sent no JSON body: the code alone tells.
  }
  const message = typeof body.message === 'string' ? body.message : `the responder answered with error ${String(code)}`;
  return new MqttResponseError(message, { code: Array.isArray(code) ? code[0] : code, details: body.details });
}

function isJsonContentType(contentType: string): boolean {
  const type = contentType.split(';', 1)[0].trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json');
}
