import type { MqttBroker, MqttBrokerClient, MqttPublishPacket } from '../broker/mqtt-broker.js';
import { defineHookStage, type MqttHookStage } from '../broker/hook-chain.js';

/** Published when a client authenticates, before Aedes restores its session: it is not offline any more. */
const authenticatedTopic = (brokerId: string): string => `$SYS/${brokerId}/authenticated/clients`;
/** Published when a persistent session that queues messages goes offline, unless another connection took it over. */
const offlineTopic = (brokerId: string): string => `$SYS/${brokerId}/offline/sessions`;

/**
 * The persistent sessions (clean session 0, with a QoS 1 or 2 subscription) this broker knows to be
 * offline, each with the number of messages queued for it since it went offline. A session is
 * offline from the end of its connection until a connection with its client id authenticates, here
 * or on another instance of a cluster: instances tell each other on the emitter, with the two
 * `$SYS` topics above and the broker's own report of new clients (`onClientConnectedElsewhere`). Only what a broker saw or was told
 * counts: a session that went offline before this instance started is not known to it.
 *
 * One entry per offline session that queues messages, removed when the session comes back or is
 * cleaned (a clean session's CONNECT authenticates too). Sessions without a QoS 1 or 2 subscription
 * have none, so clients that never subscribe, whatever their number, leave nothing behind.
 */
export class OfflineSessions {
  /** Client id → messages queued since the session went offline. */
  readonly queued = new Map<string, number>();
  /**
   * Local clients whose id authenticated on another connection: their end is a takeover, not the
   * session's. A mark stays until that client ends; if the other connection failed before replacing
   * it, its session's next offline period goes unlimited.
   */
  private readonly takenOver = new Set<string>();
  private broker!: MqttBroker;

  /**
   * The hook stage that notes a session coming back: third in the chain, it passes `authenticate`
   * on and looks at the answer of the stages after it (the auth policy, the broker's default).
   */
  readonly stage: MqttHookStage = defineHookStage({
    name: 'offline-sessions',
    authenticate: (client, username, password, callback, authenticate) =>
      authenticate(client, username, password, (error, success) => {
        if (!error && success) this.authenticated(client);
        callback(error, success);
      }),
  });

  /**
   * Listens to the broker and its emitter, once the broker is built. Whether a session queues
   * messages is what the broker tracks of each client's granted QoS (`queuesMessages`).
   */
  attach(broker: MqttBroker): void {
    this.broker = broker;
    broker.on('clientDisconnected', (client) => this.disconnected(client));
    broker.subscribe(authenticatedTopic('+'), (packet, done) => this.fromOtherInstance(packet, done, (id) => this.back(id, true)), noop);
    // Later than 'authenticated', and sent by instances that do not send it.
    broker.onClientConnectedElsewhere((clientId) => this.back(clientId, false));
    broker.subscribe(offlineTopic('+'), (packet, done) => this.fromOtherInstance(packet, done, (id) => this.wentOffline(id)), noop);
  }

  /** Whether the client is connected to this broker. */
  isLocal(clientId: string): boolean {
    return this.broker.hasClient(clientId);
  }

  private authenticated(client: MqttBrokerClient): void {
    this.back(client.id!, true);
    this.signal(authenticatedTopic(this.broker.id), client.id!);
  }

  /** A connection with this id authenticated: its session is not offline, and a local client with the id is being replaced. */
  private back(clientId: string, takeover: boolean): void {
    this.queued.delete(clientId);
    // The connection that authenticated is not registered yet: a registered one is the one it replaces.
    if (takeover && this.isLocal(clientId)) this.takenOver.add(clientId);
  }

  private disconnected(client: MqttBrokerClient): void {
    const clientId = client.id!;
    if (this.takenOver.delete(clientId)) return;
    if (!client.queuesMessages) return;
    this.wentOffline(clientId);
    this.signal(offlineTopic(this.broker.id), clientId);
  }

  private wentOffline(clientId: string): void {
    if (!this.queued.has(clientId) && !this.isLocal(clientId)) this.queued.set(clientId, 0);
  }

  private fromOtherInstance(packet: MqttPublishPacket, done: () => void, handle: (clientId: string) => void): void {
    // $SYS/<broker id>/...: this broker's own signals come back through a shared emitter.
    if (packet.topic.split('/', 2)[1] !== this.broker.id) handle(packet.payload.toString());
    done();
  }

  private signal(topic: string, clientId: string): void {
    this.broker.signal(topic, Buffer.from(clientId));
  }
}

function noop(): void {}
