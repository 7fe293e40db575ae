import type { INestApplicationContext } from '@nestjs/common';
import type { IPublishPacket, MqttClient, Packet } from 'mqtt';
import { topicMatchesFilter } from '../topic/index.js';
import { loadMqttJs } from './mqtt-client.loader.js';
import { findMqttEndpoint } from './mqtt-test-endpoint.js';
import type { MqttTestClientOptions, MqttTestNextMessageOptions, MqttTestPublishOptions, MqttTestSubscribeOptions } from './mqtt-test-client.options.js';
import { MqttTestMessage } from './mqtt-test-message.js';

const DEFAULT_TIMEOUT = 5000;

interface Waiter {
  resolve(message: MqttTestMessage): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** The messages of one subscribed filter not yet taken by `nextMessage`, and the calls waiting for one. */
interface FilterQueue {
  messages: MqttTestMessage[];
  waiters: Waiter[];
}

/**
 * An MQTT client (MQTT.js) connected to a running Nest app's MQTT endpoint, for tests of the app's
 * handlers: `await MqttTestClient.connect(app)`, then `publish`, `subscribe`, `nextMessage`, `close`.
 * Every message that matches a subscribed filter is kept for that filter from the moment the
 * subscription is sent, so none is lost between `subscribe` and `nextMessage`. On a resumed session
 * (`clean: false`, `sessionPresent`) the subscriptions are the broker's: every message is kept from
 * the CONNACK on, for `nextMessage` of any filter it matches.
 */
export class MqttTestClient {
  private readonly queues = new Map<string, FilterQueue>();
  /** Every message of a resumed session, in arrival order: a filter's queue made later starts with those it matches. */
  private readonly sessionMessages: MqttTestMessage[] = [];
  private resumedSession = false;

  private constructor(
    /** The MQTT.js client, for what the kit does not wrap. */
    readonly client: MqttClient,
    /** The URL it connected to. */
    readonly url: string,
  ) {
    // Listening before the CONNACK: a resumed session's queued messages can come in the same read.
    client.on('message', (topic, payload, packet) => this.receive(new MqttTestMessage(topic, payload, packet as IPublishPacket)));
  }

  /** Connects to the app's MQTT endpoint, found from the module (no URL needed). The app must be listening. */
  static async connect(app: INestApplicationContext, options: MqttTestClientOptions = {}): Promise<MqttTestClient> {
    const mqtt = await loadMqttJs();
    const url = findMqttEndpoint(app, options.transport);
    const client = mqtt.connect(url, {
      protocolVersion: options.protocolVersion ?? 4,
      clientId: options.clientId ?? `test-${Math.random().toString(16).slice(2, 10)}`,
      username: options.username,
      password: options.password,
      clean: options.clean ?? true,
      connectTimeout: options.connectTimeout ?? DEFAULT_TIMEOUT,
      // A test sees a refused or lost connection at once, instead of a client that retries behind its back.
      reconnectPeriod: 0,
      ...options.mqtt,
    });
    const testClient = new MqttTestClient(client, url);
    // MQTT.js says 'connect' only once it has resent its own stored packets, and a resumed session's
    // messages can be handled before that: Session Present is read from the CONNACK as it comes.
    const readConnack = (packet: Packet) => {
      if (packet.cmd !== 'connack') return;
      client.off('packetreceive', readConnack);
      testClient.resumedSession = packet.sessionPresent;
    };
    client.on('packetreceive', readConnack);
    await new Promise<void>((resolve, reject) => {
      const settle = () => client.off('packetreceive', readConnack).off('connect', connected).off('error', failed).off('close', closed);
      const connected = () => (settle(), resolve());
      const failed = (error: Error) => {
        settle();
        client.end(true);
        reject(error);
      };
      const closed = () => failed(new Error(`MqttTestClient.connect: ${url} closed the connection before its CONNACK.`));
      client.on('connect', connected).on('error', failed).on('close', closed);
    });
    return testClient;
  }

  /** The CONNACK's Session Present: the broker resumed a session of this client id (`clean: false`). */
  get sessionPresent(): boolean {
    return this.resumedSession;
  }

  /** Publishes; a string as UTF-8, a Buffer as it is, anything else as JSON. Resolves once acknowledged (QoS 1, 2) or sent (QoS 0). */
  async publish(topic: string, payload: string | Buffer | object, options: MqttTestPublishOptions = {}): Promise<void> {
    const body = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
    await this.client.publishAsync(topic, body, { qos: options.qos ?? 0, retain: options.retain ?? false });
  }

  /** Subscribes and resolves with the QoS the broker granted (128: refused). Messages of the filter are kept from now on. */
  async subscribe(filter: string, options: MqttTestSubscribeOptions = {}): Promise<number> {
    this.queueOf(filter);
    const granted = await this.client.subscribeAsync(filter, { qos: options.qos ?? 0 });
    return granted[0]?.qos ?? 128;
  }

  /** The oldest message of a subscribed filter not yet returned, or the next one to arrive within `timeout` ms. */
  nextMessage(filter: string, options: MqttTestNextMessageOptions = {}): Promise<MqttTestMessage> {
    if (!this.queues.has(filter) && !this.resumedSession) {
      const subscribed = [...this.queues.keys()].map((each) => `'${each}'`).join(', ') || 'none';
      return Promise.reject(
        new Error(
          `MqttTestClient.nextMessage('${filter}'): subscribe to '${filter}' first (subscribed: ${subscribed}), ` +
            'or connect with clean: false to a session that holds the subscription.',
        ),
      );
    }
    const queue = this.queueOf(filter);
    const kept = queue.messages.shift();
    if (kept !== undefined) return Promise.resolve(kept);
    const timeout = options.timeout ?? DEFAULT_TIMEOUT;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          queue.waiters.splice(queue.waiters.indexOf(waiter), 1);
          reject(new Error(`MqttTestClient.nextMessage('${filter}'): no message within ${timeout} ms.`));
        }, timeout),
      };
      queue.waiters.push(waiter);
    });
  }

  /** Disconnects; calls still waiting in `nextMessage` reject. */
  async close(): Promise<void> {
    for (const [filter, queue] of this.queues) {
      for (const waiter of queue.waiters.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error(`MqttTestClient.nextMessage('${filter}'): the client was closed.`));
      }
    }
    await this.client.endAsync();
  }

  /** The queue of a filter; a new one starts with the resumed session's messages that match it. */
  private queueOf(filter: string): FilterQueue {
    let queue = this.queues.get(filter);
    if (queue === undefined) {
      queue = { messages: this.sessionMessages.filter((message) => topicMatchesFilter(filter, message.topic)), waiters: [] };
      this.queues.set(filter, queue);
    }
    return queue;
  }

  private receive(message: MqttTestMessage): void {
    if (this.resumedSession) this.sessionMessages.push(message);
    for (const [filter, queue] of this.queues) {
      if (!topicMatchesFilter(filter, message.topic)) continue;
      const waiter = queue.waiters.shift();
      if (waiter === undefined) {
        queue.messages.push(message);
      } else {
        clearTimeout(waiter.timer);
        waiter.resolve(message);
      }
    }
  }
}
