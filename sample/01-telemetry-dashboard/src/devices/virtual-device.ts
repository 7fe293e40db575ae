import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { topics, type LedState } from '../topics.js';

/**
 * One simulated device, written the way firmware would use MQTT: it knows nothing of Nest. It
 * connects over MQTT 5 with its device id as client id and a retained `offline` last will on its
 * status topic, publishes a reading every `intervalMs`, and applies `{ "led": "on" | "off" }`
 * commands, answering each on the command's response topic (MQTT 5 request/response).
 */
export class VirtualDevice {
  private client?: MqttClient;
  private timer?: NodeJS.Timeout;
  private led: LedState = 'off';
  private temperature = 20 + Math.random() * 8;
  private humidity = 35 + Math.random() * 25;

  constructor(
    readonly id: string,
    private readonly url: string,
    private readonly intervalMs = 1000,
  ) {}

  async start(): Promise<void> {
    const client = await mqtt.connectAsync(this.url, {
      clientId: this.id,
      protocolVersion: 5,
      clean: true,
      reconnectPeriod: 2000,
      will: { topic: topics.status(this.id), payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    this.client = client;
    client.on('message', (_topic, payload, packet) => this.onCommand(payload, packet));
    client.on('error', (error) => console.warn(`[${this.id}] ${error.message}`));
    await client.subscribeAsync(topics.commands(this.id), { qos: 1 });
    await this.publishState();
    this.timer = setInterval(() => this.publishReading(), this.intervalMs);
  }

  /** A graceful DISCONNECT: the broker drops the will and the server announces `offline` itself. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.client?.endAsync();
  }

  private publishReading(): void {
    this.temperature = clamp(this.temperature + (Math.random() - 0.5) * 0.8, 15, 35);
    this.humidity = clamp(this.humidity + (Math.random() - 0.5) * 2, 20, 80);
    // Now and then a hot spike, so the dashboard has an alert to show.
    const temperature = Math.random() < 0.01 ? 50 + Math.random() * 20 : this.temperature;
    const reading = { temperature: round(temperature), humidity: round(this.humidity) };
    this.client?.publish(topics.telemetry(this.id), JSON.stringify(reading), { qos: 0 });
  }

  private onCommand(payload: Buffer, packet: IPublishPacket): void {
    let command: { led?: unknown } | undefined;
    try {
      command = JSON.parse(payload.toString());
    } catch {
      // Answered below as an invalid command.
    }
    if (command?.led !== 'on' && command?.led !== 'off') {
      console.warn(`[${this.id}] refused an unknown command: ${payload.toString()}`);
      return this.answer(packet, { message: `unknown command ${payload.toString()}`, code: 'invalid-command' }, 'invalid-command');
    }
    this.led = command.led;
    void this.publishState().then(() => this.answer(packet, { led: this.led }));
  }

  /** The acknowledgement (or an error response) on the command's response topic, with its correlation data. */
  private answer(command: IPublishPacket, body: object, error?: string): void {
    const responseTopic = command.properties?.responseTopic;
    if (responseTopic === undefined) return;
    this.client?.publish(responseTopic, JSON.stringify(body), {
      qos: 1,
      properties: {
        correlationData: command.properties?.correlationData,
        contentType: 'application/json',
        payloadFormatIndicator: true,
        ...(error === undefined ? {} : { userProperties: { error } }),
      },
    });
  }

  private async publishState(): Promise<void> {
    await this.client?.publishAsync(topics.state(this.id), JSON.stringify({ led: this.led }), { qos: 1, retain: true });
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
