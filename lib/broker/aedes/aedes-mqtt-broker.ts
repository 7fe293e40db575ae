import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { Logger } from '@nestjs/common';
import { Aedes, type AedesOptions, type AedesPublishPacket, type Client, type Subscription } from 'aedes';
import type { MqttUpgradeRequest } from '../../interfaces/mqtt-upgrade-request.interface.js';
import type { MqttReason } from '../../interfaces/mqtt5.interface.js';
import { TrustedProxies } from '../../security/trusted-proxies.js';
import { composeHookChain, type MqttHookStage, type MqttHooks } from '../hook-chain.js';
import type {
  MqttBroker,
  MqttBrokerEvents,
  MqttConnectPacket,
  MqttConnectRefusal,
  MqttDone,
  MqttMessageListener,
  MqttOfflineQueueFilter,
  MqttPublishPacket,
  MqttSocketConnection,
} from '../mqtt-broker.js';
import { aedesClientOf, describeAedesClient, describeAedesClientOrNull } from './aedes-client.js';
import { readInstalledAedes, verifyAedesBroker, verifyAedesContract } from './aedes-contract.js';
import { filterOfflineQueue } from './offline-queue.persistence.js';
import { bindPacketSizeLimit, limitPacketSize } from './packet-size.limit.js';
import { installProtocolConformance, protocolConformanceStage } from './protocol/mqtt-protocol.conformance.js';
import { bindLeanPacketParser, installLeanPacketParser, leanParseSteps } from './protocol/lean-packet-parser.js';
import { bindStrictPacketParser, installStrictPacketParser } from './protocol/strict-packet-parser.js';
import { DEFAULT_MAX_INFLIGHT_INBOUND, limitInboundQos2, releaseInboundQos2OnCleanClose } from './inbound-qos2.limit.js';
import { installQos2ReleaseFix } from './qos2-release.js';
import { skipCleanSessionAckLookups } from './clean-session-acks.persistence.js';
import { holdPubacksOn, releasePuback } from './protocol/puback-after-routing.js';
import { serveSharedSubscriptions } from './protocol/shared-subscriptions.js';
import { bindSlowConsumerLimit, limitBufferedBytes } from './slow-consumer.limit.js';

/** What the adapter needs besides the hook stages: Aedes' own options and the limits it enforces on bytes. */
export interface AedesBrokerSettings {
  /**
   * The module's broker options that are set (`id`, the counts of `AEDES_COUNT_OPTIONS`,
   * `maxTopicLevels`, `maxInflightInbound`, `persistence`, `mq`). The module names them as Aedes 1.2
   * does, so they are passed as they are; a broker that names them otherwise maps them here.
   */
  brokerOptions: Record<string, unknown>;
  /** Largest packet accepted, by the length its fixed header announces. */
  maxPacketSize: number;
  /** Bytes that may wait for a subscriber that does not read; 0: no limit. */
  maxBufferedBytes: number;
  /** A QoS 1 PUBACK waits until its message is routed (protocol/puback-after-routing.ts). */
  acknowledgeAfterRouting: boolean;
  /** Proxies whose `X-Forwarded-For` gives the client's address. */
  trustedProxies: readonly string[];
  /** The stages of the hook chain besides the adapter's own `protocol` stage; lib/broker/hook-chain.ts orders them. */
  stages: readonly MqttHookStage[];
}

/**
 * Checks, before anything is built, that the installed Aedes and mqtt-packet have every internal
 * this adapter uses (aedes-contract.ts), and binds the overrides to them. Throws, so the app
 * refuses to start, on any mismatch.
 */
export async function prepareAedesAdapter(): Promise<void> {
  const verified = verifyAedesContract(await readInstalledAedes());
  bindLeanPacketParser({ prototype: verified.parserPrototype, Packet: verified.Packet });
  // mqtt-packet's steps, with the lean ones where there are.
  bindStrictPacketParser(Object.assign(Object.create(verified.parserPrototype) as typeof verified.parserPrototype, leanParseSteps));
  bindPacketSizeLimit(leanParseSteps);
  bindSlowConsumerLimit(verified.clientPrototype);
}

type AedesInternals = Aedes & {
  clients: Record<string, Client | undefined>;
  mq: { emit(packet: object, callback?: () => void): unknown };
  persistence: { destroy?: () => Promise<void> } & Parameters<typeof filterOfflineQueue>[0];
  _heartbeatInterval?: NodeJS.Timeout;
  _clearWillInterval?: NodeJS.Timeout;
};

/** Aedes 2's `Client.disconnect`: a DISCONNECT with the reason to an MQTT 5 client, then the close. */
interface AedesV5Client {
  disconnect(options: { reasonCode: number; properties?: { reasonString: string } }, done?: () => void): void;
}

/**
 * `MqttBroker` on Aedes 2.0.0-beta.1: the one class that holds an Aedes instance. Clients reach the rest of
 * the library as `MqttBrokerClient` descriptions (one per connection), packets as the objects Aedes
 * routes, typed as the library's own; the hook chain is installed in Aedes' hooks once.
 */
export class AedesMqttBroker extends EventEmitter<MqttBrokerEvents> implements MqttBroker {
  private readonly logger = new Logger('MqttWsModule');
  private readonly proxies: TrustedProxies;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly aedes: AedesInternals,
    private readonly settings: AedesBrokerSettings,
  ) {
    super();
    this.proxies = new TrustedProxies(settings.trustedProxies);
  }

  /** Builds Aedes and installs the chain. `prepareAedesAdapter()` must have resolved. */
  static async create(settings: AedesBrokerSettings): Promise<AedesMqttBroker> {
    const aedes = (await Aedes.createBroker({ ...settings.brokerOptions, ...mqtt5Advertised(settings) } as AedesOptions)) as AedesInternals;
    try {
      verifyAedesBroker(aedes);
      // Each PUBREL gets its own record in the persistence (docs/upstream-reports.md); checks its own contract first.
      installQos2ReleaseFix(aedes as unknown as Aedes);
      // Aedes 2.0.0-beta.1 dropped 1.2's bound on QoS 2 messages awaiting PUBREL (inbound-qos2.limit.ts).
      const maxInflightInbound = settings.brokerOptions.maxInflightInbound;
      limitInboundQos2(aedes.persistence as never, typeof maxInflightInbound === 'number' ? maxInflightInbound : DEFAULT_MAX_INFLIGHT_INBOUND);
      releaseInboundQos2OnCleanClose(aedes as never, aedes.persistence as never);
      skipCleanSessionAckLookups(aedes.persistence as never);
    } catch (error) {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      throw error;
    }
    // Aedes 2.0.0-beta.1 lost 1.2's fix of GHSA-52qw-whmv-87c5: its maps keyed by client id and broker id
    // from the wire are plain objects, so a client id 'constructor' finds Object's and throws. Empty yet.
    aedes.clients = Object.create(null) as AedesInternals['clients'];
    (aedes as unknown as { brokers: object }).brokers = Object.create(null) as object;
    // Aedes' timers must not keep a process alive whose app failed to start and never closed it.
    aedes._heartbeatInterval?.unref();
    aedes._clearWillInterval?.unref();
    const broker = new AedesMqttBroker(aedes, settings);
    // Shared subscriptions, on one instance or a cluster (protocol/shared-subscriptions.ts).
    broker.installHooks();
    installProtocolConformance(aedes);
    broker.forwardEvents();
    return broker;
  }

  get id(): string {
    return this.aedes.id;
  }

  get closed(): boolean {
    return this.aedes.closed;
  }

  get connectedClients(): number {
    return this.aedes.connectedClients;
  }

  /**
   * The Aedes instance behind the adapter. Unsupported: whatever is done to it is outside what
   * the library tests and may break with any release (see `MqttService.broker`).
   */
  get unsupportedInstance(): unknown {
    return this.aedes;
  }

  handle(stream: Duplex, request?: MqttUpgradeRequest | MqttSocketConnection): void {
    // Aedes copies `request.connDetails` to `client.connDetails`: the address behind trusted proxies
    // (a TCP connection has no headers: its peer's address). Aedes keeps `request` as `client.req`.
    if (request) {
      const described = 'transport' in request ? ({ socket: request.socket, headers: {} } as MqttUpgradeRequest) : request;
      (request as MqttUpgradeRequest & { connDetails?: unknown }).connDetails = this.proxies.connectionDetails(described);
    }
    if (this.settings.acknowledgeAfterRouting) holdPubacksOn(stream);
    const client = this.aedes.handle(stream, request as IncomingMessage);
    // The same for the maps keyed by topic filter and broker id (GHSA-52qw-whmv-87c5), still empty here.
    const keyed = client as unknown as { subscriptions: object; duplicates: object };
    keyed.subscriptions = Object.create(null) as object;
    keyed.duplicates = Object.create(null) as object;
    // The lean steps first: the size limit and the strict checks wrap them.
    installLeanPacketParser(client);
    limitPacketSize(client, this.settings.maxPacketSize);
    if (this.settings.maxBufferedBytes > 0) limitBufferedBytes(client, this.settings.maxBufferedBytes);
    installStrictPacketParser(client);
    serveSharedSubscriptions(stream);
  }

  publish(packet: MqttPublishPacket, done: MqttDone): void {
    this.aedes.publish(packet as unknown as AedesPublishPacket, done as (error?: Error) => void);
  }

  subscribe(filter: string, listener: MqttMessageListener, done: MqttDone): void {
    // Aedes' typings leave out the error it reports for a filter deeper than maxTopicLevels.
    this.aedes.subscribe(filter, listener as unknown as Parameters<Aedes['subscribe']>[1], done as () => void);
  }

  signal(topic: string, payload: Buffer): void {
    this.aedes.mq.emit({ cmd: 'publish', topic, payload, qos: 0, retain: false }, noop);
  }

  onClientConnectedElsewhere(listener: (clientId: string) => void): void {
    // Aedes publishes each new client's id on `$SYS/<broker id>/new/clients`, on the emitter a cluster shares.
    const ownId = this.aedes.id;
    const onNewClient = (packet: { topic: string; payload: Buffer | string }, done: () => void): void => {
      if (packet.topic.split('/', 2)[1] !== ownId) listener(packet.payload.toString());
      done();
    };
    this.aedes.subscribe('$SYS/+/new/clients', onNewClient as never, noop);
  }

  hasClient(clientId: string): boolean {
    return this.aedes.clients[clientId] !== undefined;
  }

  disconnect(clientId: string, reason?: MqttReason): boolean {
    const client = this.aedes.clients[clientId];
    if (client === undefined) return false;
    // MQTT 3.1.1 has no server DISCONNECT [MQTT-3.14]: the connection is closed. An MQTT 5 client gets
    // DISCONNECT with the reason code (0x00 normal disconnection by default) and reason string, then the close.
    const code = reason?.code ?? 0;
    const properties = reason?.reasonString === undefined ? undefined : { reasonString: reason.reasonString };
    (client as unknown as AedesV5Client).disconnect({ reasonCode: code, properties });
    return true;
  }

  announceShutdown(): void {
    for (const clientId in this.aedes.clients) {
      const client = this.aedes.clients[clientId] as unknown as { version: number | null; connected: boolean; conn: Duplex } | undefined;
      // Written, not closed: the transport's close frame (1001) follows it on the same connection.
      if (client?.version === 5 && client.connected) client.conn.write(SERVER_SHUTTING_DOWN);
    }
  }

  filterOfflineQueue(filter: MqttOfflineQueueFilter): void {
    filterOfflineQueue(this.aedes.persistence, filter);
  }

  close(): Promise<void> {
    return (this.closing ??= this.closeNow());
  }

  private async closeNow(): Promise<void> {
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    // Aedes leaves its persistence open.
    await this.aedes.persistence.destroy?.().catch((error: Error) => this.logger.warn(`Closing the persistence failed: ${error.message}`));
  }

  /**
   * The chain, composed once, in Aedes' hooks. Each hook finds the client's description (a symbol
   * property) and calls the chain; the chain ends in Aedes' own defaults. No closure per call.
   */
  private installHooks(): void {
    const aedes = this.aedes;
    const defaults = {
      preConnect: aedes.preConnect,
      authenticate: aedes.authenticate,
      authorizePublish: aedes.authorizePublish,
      authorizeSubscribe: aedes.authorizeSubscribe,
      authorizeForward: aedes.authorizeForward,
      published: aedes.published,
    };
    const last: MqttHooks = {
      preConnect: (client, packet, callback) => defaults.preConnect(aedesClientOf(client), packet as never, callback),
      authenticate: (client, username, password, callback) =>
        defaults.authenticate(aedesClientOf(client), username as string, password as Buffer, callback as never),
      authorizePublish: (client, packet, callback) =>
        defaults.authorizePublish(client && aedesClientOf(client), packet as never, callback as (error?: Error | null) => void),
      authorizeSubscribe: (client, subscription, callback) =>
        defaults.authorizeSubscribe(aedesClientOf(client), subscription as Subscription, callback as never),
      authorizeForward: (client, packet) => defaults.authorizeForward(aedesClientOf(client), packet as AedesPublishPacket) as never,
      published: (packet, client, done) => defaults.published(packet as AedesPublishPacket, (client && aedesClientOf(client)) as Client, done as never),
    };
    const chain = composeHookChain([protocolConformanceStage, ...this.settings.stages], last);
    aedes.preConnect = (client, packet, callback) => chain.preConnect(describeAedesClient(client), packet as MqttConnectPacket, callback);
    aedes.authenticate = (client, username, password, callback) => {
      const described = describeAedesClient(client);
      described.username = username ?? undefined;
      chain.authenticate(described, username ?? undefined, password ?? undefined, (error: (Error & Partial<MqttConnectRefusal>) | null, ok?: boolean) => {
        // Aedes knows only the 3.1.1 codes 2-5: an MQTT 5 reason code (and its string) is sent here, as refuseConnect does.
        if (error && typeof error.returnCode === 'number' && error.returnCode >= 0x80) return described.refuseConnect(error.returnCode, error.reasonString);
        (callback as (error: Error | null, ok?: boolean) => void)(error, ok);
      });
    };
    aedes.authorizePublish = (client, packet, callback) =>
      chain.authorizePublish(describeAedesClientOrNull(client), packet as MqttPublishPacket, callback as MqttDone);
    aedes.authorizeSubscribe = (client, subscription, callback) =>
      chain.authorizeSubscribe(describeAedesClient(client), subscription as never, callback as never);
    aedes.authorizeForward = (client, packet) => chain.authorizeForward(describeAedesClient(client), packet as MqttPublishPacket) as never;
    aedes.published = this.settings.acknowledgeAfterRouting
      ? (packet, client, done) => {
          if (client && packet.qos === 1 && packet.messageId !== undefined) releasePuback(client.conn, packet.messageId);
          chain.published(packet as MqttPublishPacket, describeAedesClientOrNull(client), done as MqttDone);
        }
      : (packet, client, done) => chain.published(packet as MqttPublishPacket, describeAedesClientOrNull(client), done as MqttDone);
  }

  /** Aedes' client events, with the client's description. Listeners added after the protocol's own, so they see the granted QoS. */
  private forwardEvents(): void {
    const aedes = this.aedes;
    // Aedes' 'client': the CONNECT was authenticated and the client registered; the CONNACK follows.
    aedes.on('client', (client: Client) => this.emit('connectionAccepted', client.conn as Duplex));
    aedes.on('clientReady', (client: Client) => this.emit('clientConnected', describeAedesClient(client)));
    aedes.on('clientDisconnect', (client: Client) => this.emit('clientDisconnected', describeAedesClient(client)));
    aedes.on('subscribe', (subscriptions: Subscription[], client: Client) =>
      this.emit('subscribed', subscriptions as unknown as MqttBrokerEvents['subscribed'][0], describeAedesClient(client)),
    );
    aedes.on('unsubscribe', (filters: string[], client: Client) => this.emit('unsubscribed', filters, describeAedesClient(client)));
    aedes.on('clientError', (client: Client, error: Error) => this.emit('clientError', describeAedesClient(client), error));
    // Aedes' typings leave out the 'error' it emits when its persistence fails; unheard, it ends the process, as in Aedes.
    (aedes as unknown as EventEmitter).on('error', (error: Error) => this.emit('error', error));
  }
}

function noop(): void {}

/** Topic aliases a v5 client may set towards the server (Mosquitto's default too); each costs a map entry per connection. */
export const TOPIC_ALIAS_MAXIMUM = 10;

/**
 * What the CONNACK of an MQTT 5 client advertises besides Aedes' defaults, so that it is true:
 * the largest packet accepted (`maxPacketSize`, enforced on every client); the QoS 1/2 messages a
 * client may have unacknowledged (`maxInflightInbound`, past which the connection closes, so the
 * client is told to stay below it); and inbound topic aliases.
 */
function mqtt5Advertised(settings: AedesBrokerSettings): Record<string, number> {
  const inflight = settings.brokerOptions.maxInflightInbound;
  const receiveMaximum = typeof inflight === 'number' ? inflight : DEFAULT_MAX_INFLIGHT_INBOUND;
  return {
    maximumPacketSize: settings.maxPacketSize,
    receiveMaximum: receiveMaximum > 0 && receiveMaximum < 65535 ? receiveMaximum : 0,
    topicAliasMaximum: TOPIC_ALIAS_MAXIMUM,
  };
}

/** DISCONNECT, remaining length 1, reason code 0x8B (server shutting down), no properties. */
const SERVER_SHUTTING_DOWN = Buffer.from([0xe0, 0x01, 0x8b]);
