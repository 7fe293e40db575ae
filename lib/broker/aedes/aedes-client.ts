import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { Client } from 'aedes';
import type { MqttUpgradeRequest } from '../../interfaces/mqtt-upgrade-request.interface.js';
import type { MqttReasonCode } from '../../interfaces/mqtt5.interface.js';
import type { MqttBrokerClient, MqttRefusalCode, MqttSocketConnection, MqttTransport, MqttWill } from '../mqtt-broker.js';
import type { MqttConnectionDetails } from '../../security/trusted-proxies.js';
import { refuseConnection } from './protocol/connection-refusal.js';
import { holdsQosSubscription } from './protocol/granted-qos.js';

const DESCRIPTION = Symbol('clientDescription');

/** The Aedes client fields read here (Aedes 1.2 `lib/client.js`; `will`, `req` and `connDetails` are outside its typings). */
interface DescribedClient {
  id: string | null;
  version: number | null;
  clean: boolean;
  will: MqttWill | null;
  req: MqttUpgradeRequest | MqttSocketConnection | undefined;
  connDetails: MqttConnectionDetails | null;
  [DESCRIPTION]?: AedesClientDescription;
}

/**
 * The library's description of one Aedes client: created on the first hook or event that needs
 * it (once per connection, kept on the client in a symbol property), reading the client's fields
 * when asked, so it stays right as the CONNECT fills them in.
 */
export class AedesClientDescription implements MqttBrokerClient {
  /** Set by the adapter's `authenticate`: Aedes keeps no user name. */
  username: string | undefined = undefined;
  /** Private (not even a symbol), so logging an event's client shows the description, not Aedes' client. */
  readonly #client: Client;

  constructor(client: Client) {
    this.#client = client;
  }

  /** The Aedes client behind a description. */
  static aedesClientOf(description: AedesClientDescription): Client {
    return description.#client;
  }

  private get aedesClient(): Client {
    return this.#client;
  }

  get id(): string | null {
    return (this.aedesClient as unknown as DescribedClient).id;
  }
  get protocolVersion(): number | null {
    return (this.aedesClient as unknown as DescribedClient).version;
  }
  get clean(): boolean {
    return (this.aedesClient as unknown as DescribedClient).clean;
  }
  get remoteAddress(): string | undefined {
    return (this.aedesClient as unknown as DescribedClient).connDetails?.ipAddress;
  }
  get transport(): MqttTransport {
    const origin = (this.aedesClient as unknown as DescribedClient).req;
    return origin == null ? 'stream' : 'transport' in origin ? origin.transport : 'websocket';
  }
  get request(): MqttUpgradeRequest | undefined {
    const origin = (this.aedesClient as unknown as DescribedClient).req;
    return origin == null || 'transport' in origin ? undefined : origin;
  }
  get certificate(): PeerCertificate | undefined {
    const socket = (this.aedesClient as unknown as DescribedClient).req?.socket as TLSSocket | undefined;
    return socket?.authorized === true ? socket.getPeerCertificate() : undefined;
  }
  get will(): MqttWill | null {
    return (this.aedesClient as unknown as DescribedClient).will ?? null;
  }
  get queuesMessages(): boolean {
    return !this.clean && holdsQosSubscription(this.aedesClient);
  }
  refuseConnect(code: MqttRefusalCode | MqttReasonCode, reasonString?: string): void {
    refuseConnection(this.aedesClient, code, reasonString);
  }
  /** Logs and `console.log` show the description, not the Aedes client behind it. */
  toJSON(): object {
    return { id: this.id, protocolVersion: this.protocolVersion, username: this.username, remoteAddress: this.remoteAddress, transport: this.transport };
  }
}

/** The description of an Aedes client, created on first use. */
export function describeAedesClient(client: Client): AedesClientDescription {
  const described = client as unknown as DescribedClient;
  return (described[DESCRIPTION] ??= new AedesClientDescription(client));
}

/** The same, for hooks whose client may be `null` (a will published for a client of another instance). */
export function describeAedesClientOrNull(client: Client | null | undefined): AedesClientDescription | null {
  return client == null ? null : describeAedesClient(client);
}

/** The Aedes client behind a description the chain passes on. */
export function aedesClientOf(client: MqttBrokerClient): Client {
  return AedesClientDescription.aedesClientOf(client as AedesClientDescription);
}
