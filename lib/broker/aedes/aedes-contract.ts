import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Aedes } from 'aedes';
import { LEAN_PARSER_OVERRIDES, PARSER_STATES } from './protocol/lean-packet-parser.js';
import { PACKET_BYTES_METHODS } from './protocol/packet-bytes.js';
import { STRICT_PARSER_OVERRIDES } from './protocol/strict-packet-parser.js';

/**
 * The exact versions the adapter was written and tested against: each reach-in of this folder
 * depends on internals of these (docs/design.md lists them). package.json pins the same versions;
 * a different one refuses to start until the adapter is checked against it and this list updated.
 */
export const SUPPORTED_VERSIONS = {
  aedes: '2.0.0-beta.1',
  'mqtt-packet': '9.0.2',
  'aedes-persistence': '10.3.1',
} as const;

export type AedesPackage = keyof typeof SUPPORTED_VERSIONS;

/** What is installed, as the adapter will use it: the packages Aedes itself resolves, and the internals read from them. */
export interface InstalledAedes {
  versions: Record<AedesPackage, string | undefined>;
  /** mqtt-packet's `Parser.prototype`. */
  parserPrototype: Record<string, unknown>;
  /** A fresh mqtt-packet parser: its instance fields. */
  parser: Record<string, unknown>;
  /** Aedes' `Client` class (aedes/lib/client.js). */
  clientClass: { prototype: Record<string, unknown>; toString(): string };
  /** The source of the Aedes modules whose behaviour (not shape) the adapter relies on, by path in the package. */
  aedesSources: Record<string, string>;
  /** The source of mqtt-packet's parser.js: the calls it makes on its bytes (protocol/packet-bytes.ts takes their place). */
  parserSource: string;
}

/** The prototypes the adapter's overrides bind to, once verified. */
export interface VerifiedAedes {
  parserPrototype: {
    _parseLength(): boolean;
    _parseString(): string | null;
    _parseConnect(): never;
    _parsePublish(): void;
    _parseSubscribe(): void;
    _parseUnsubscribe(): void;
    _parseConfirmation(): unknown;
  };
  /** mqtt-packet's packet class, which its parser makes a new one of per packet. */
  Packet: new () => never;
  clientPrototype: { waitForDrain(callback: (error: Error | null, client: never) => void): void };
}

export class AedesContractError extends Error {
  constructor(
    readonly packageName: string,
    readonly foundVersion: string | undefined,
    readonly supportedVersion: string,
    detail: string,
  ) {
    super(
      `nestjs-mqtt-ws cannot start: ${packageName} ${foundVersion ?? '(not found)'} is installed (${detail}); this version of ` +
        `nestjs-mqtt-ws supports ${packageName} ${supportedVersion} exactly. ` +
        `Install ${packageName}@${supportedVersion}, or a nestjs-mqtt-ws release that supports ${foundVersion ?? 'it'}.`,
    );
    this.name = 'AedesContractError';
  }
}

/** mqtt-packet parser methods the adapter overrides or calls (lean and strict parser, packet size limit). */
const PARSER_METHODS = [
  ...new Set([...LEAN_PARSER_OVERRIDES, ...STRICT_PARSER_OVERRIDES, '_parseLength', '_emitError', '_parseConnack', '_parseSuback', '_parseUnsuback', '_parseDisconnect', '_parseAuth']),
];
/** mqtt-packet parser fields the overrides read. */
const PARSER_FIELDS = ['packet', 'error', '_list', '_states', '_stateCounter', 'settings'] as const;
/** Aedes `Client` methods the adapter wraps or calls: slow-consumer limit, connection refusal. */
const CLIENT_METHODS = ['waitForDrain', 'pause', 'close', 'disconnect'] as const;
/**
 * Aedes `Client` fields its constructor assigns (so they are on no prototype): the delivery
 * functions wrapped for [MQTT-3.2.0-1] and [MQTT-3.3.5-1], the parser, and the fields read.
 */
const CLIENT_CONSTRUCTOR_ASSIGNS = [
  'this.deliver0 =',
  'this.deliverQoS =',
  'this._parser =',
  'this.connackSent =',
  'this.subscriptions =',
  'this.duplicates =',
  'this.conn =',
  'this.req =',
  'this.connDetails =',
  'this.will =',
  'this.version =',
  'this.clean =',
  'this.connecting =',
  'this.connected =',
] as const;
/**
 * Behaviour the adapter relies on, read in Aedes' sources: [file, what it must contain, why].
 * A refactor upstream that keeps the behaviour but changes the text fails here too, on purpose:
 * the adapter is re-read against it before the pin moves.
 */
const AEDES_SOURCE_FACTS: readonly (readonly [string, string, string])[] = [
  ['lib/handlers/subscribe.js', 'if (packet.messageId !== undefined) {', 'a SUBSCRIBE without a packet identifier gets no SUBACK from Aedes (subscription-grants.ts writes it)'],
  ['lib/handlers/subscribe.js', "broker.emit('subscribe', subs, client)", "the 'subscribe' event reports the subscriptions once every filter is decided"],
  ['lib/handlers/connect.js', "client.broker.emit('connackSent', connack, client)", "'connackSent' follows the CONNACK (connack-first.ts)"],
  ['lib/handlers/connect.js', "emit('clientReady', client)", "'clientReady' (clientConnected)"],
  ['aedes.js', "'/new/clients'", 'new clients are reported on $SYS/<id>/new/clients (onClientConnectedElsewhere)'],
  ['aedes.js', "this.emit('clientDisconnect', client)", "'clientDisconnect' (clientDisconnected)"],
  ['aedes.js', 'this.broker.persistence.subscriptionsByTopic(packet.topic)', 'the offline fan-out of a QoS 1/2 message asks subscriptionsByTopic, then outgoingEnqueueCombi (shared-sessions.persistence.ts)'],
  ['aedes.js', "that.emit('closed')", "'closed' comes before the emitter closes (shared-groups.ts says bye)"],
  ['lib/handlers/connect.js', 'const packet = new QoSPacket(data, client)', "a queued message is numbered before authorizeForward sees it (shared-subscriptions.ts: a session's queue is its own)"],
  ['lib/client.js', 'if (that.clean || packet.retain) {', "a clean session's QoS 1 deliveries are not recorded in the persistence (clean-session-acks.persistence.ts)"],
  // puback-after-routing.ts holds a QoS 1 PUBACK until `published` lets it go: Aedes must route every message it acknowledged with 0.
  ['lib/handlers/publish.js', 'write(client, new PubAck(packet), function (err) {', 'the reason-code-0 PUBACK of a QoS 1 PUBLISH is written before routing (puback-after-routing.ts holds it)'],
  ['lib/handlers/publish.js', 'client.broker.publish(packet, client, done)', 'the acknowledged QoS 1 message is routed with its client (puback-after-routing.ts)'],
  ['aedes.js', 'this.broker.published(this.packet, this.client, done)', "routing ends in `published` with the client's own packet, packet identifier included (puback-after-routing.ts releases the PUBACK there)"],
];
/** Aedes prototype methods the adapter calls. */
const BROKER_METHODS = ['handle', 'publish', 'subscribe', 'close'] as const;
/** Persistence methods the adapter wraps (any store: memory, Redis, the app's own). */
const PERSISTENCE_METHODS = [
  'addSubscriptions',
  'outgoingEnqueueCombi',
  // clean-session-acks.persistence.ts
  'outgoingClearMessageId',
  'incomingStorePacket',
  'incomingDelPacket',
  // shared-sessions.persistence.ts
  'removeSubscriptions',
  'subscriptionsByClient',
  'subscriptionsByTopic',
  'cleanSubscriptions',
  'outgoingUpdate',
] as const;

/**
 * Reads what is installed: the package.json of aedes, and of the mqtt-packet and
 * aedes-persistence that aedes itself resolves (a nested copy counts, not the app's), and the
 * internals the adapter touches. Side-effect free: nothing is patched, no broker is built.
 */
export async function readInstalledAedes(): Promise<InstalledAedes> {
  const fromHere = createRequire(import.meta.url);
  const aedesDir = dirname(fromHere.resolve('aedes'));
  const fromAedes = createRequire(join(aedesDir, 'aedes.js'));
  const versionOf = (directory: string): string | undefined => {
    try {
      return (JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as { version?: string }).version;
    } catch {
      return undefined;
    }
  };
  const packetDir = packageDir(fromAedes, 'mqtt-packet');
  const persistenceDir = packageDir(fromAedes, 'aedes-persistence');
  const mqttPacket = fromAedes('mqtt-packet') as { parser(): Record<string, unknown> };
  const parser = mqttPacket.parser();
  const parserPath = fromAedes.resolve('mqtt-packet/parser.js');
  // Aedes' exports map hides lib/client.js; a file URL reaches the very module Aedes loaded.
  const clientModule = (await import(pathToFileURL(join(aedesDir, 'lib', 'client.js')).href)) as { default: InstalledAedes['clientClass'] };
  const aedesSources: Record<string, string> = {};
  for (const [file] of AEDES_SOURCE_FACTS) aedesSources[file] ??= readSource(join(aedesDir, file));
  return {
    versions: {
      aedes: versionOf(aedesDir),
      'mqtt-packet': packetDir && versionOf(packetDir),
      'aedes-persistence': persistenceDir && versionOf(persistenceDir),
    },
    parserPrototype: Object.getPrototypeOf(parser) as Record<string, unknown>,
    parser,
    clientClass: clientModule.default,
    aedesSources,
    parserSource: readSource(parserPath),
  };
}

function readSource(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The directory of a package as `require` resolves it from aedes (mqtt-packet has no exports map; aedes-persistence neither). */
function packageDir(require: NodeJS.Require, name: string): string | undefined {
  try {
    let directory = dirname(require.resolve(name));
    while (!directory.endsWith(`${name}`) && dirname(directory) !== directory) directory = dirname(directory);
    return directory;
  } catch {
    return undefined;
  }
}

/**
 * Verifies every internal the adapter relies on, before any broker exists. Throws an
 * `AedesContractError` naming the package, the version found and the version supported.
 */
export function verifyAedesContract(installed: InstalledAedes): VerifiedAedes {
  for (const name of Object.keys(SUPPORTED_VERSIONS) as AedesPackage[]) {
    const found = installed.versions[name];
    if (found !== SUPPORTED_VERSIONS[name]) throw new AedesContractError(name, found, SUPPORTED_VERSIONS[name], 'a version the broker adapter was not checked against');
  }
  const packetVersion = installed.versions['mqtt-packet'];
  for (const method of PARSER_METHODS) {
    if (typeof installed.parserPrototype[method] !== 'function') {
      throw new AedesContractError('mqtt-packet', packetVersion, SUPPORTED_VERSIONS['mqtt-packet'], `its parser has no ${method}()`);
    }
  }
  for (const field of PARSER_FIELDS) {
    if (!(field in installed.parser)) {
      throw new AedesContractError('mqtt-packet', packetVersion, SUPPORTED_VERSIONS['mqtt-packet'], `its parser has no "${field}" field`);
    }
  }
  const states = installed.parser._states;
  if (!Array.isArray(states) || states.join() !== PARSER_STATES.join()) {
    throw new AedesContractError('mqtt-packet', packetVersion, SUPPORTED_VERSIONS['mqtt-packet'], `its parser's states are not ${PARSER_STATES.join(', ')}`);
  }
  const packet = installed.parser.packet as { constructor?: unknown; length?: unknown } | null;
  if (typeof packet?.constructor !== 'function' || packet.length !== -1) {
    throw new AedesContractError('mqtt-packet', packetVersion, SUPPORTED_VERSIONS['mqtt-packet'], 'its parser starts with no packet of length -1');
  }
  // The bytes' methods the parser calls, each of which protocol/packet-bytes.ts must have.
  const byteCalls = new Set(Array.from(installed.parserSource.matchAll(/_list\.(\w+)\(/g), (match) => match[1]));
  const missing = [...byteCalls].filter((method) => !PACKET_BYTES_METHODS.includes(method));
  if (byteCalls.size === 0 || missing.length > 0) {
    throw new AedesContractError('mqtt-packet', packetVersion, SUPPORTED_VERSIONS['mqtt-packet'], `its parser calls ${missing.join(', ') || 'nothing'} on its bytes`);
  }
  const aedesVersion = installed.versions.aedes;
  for (const method of CLIENT_METHODS) {
    if (typeof installed.clientClass.prototype[method] !== 'function') {
      throw new AedesContractError('aedes', aedesVersion, SUPPORTED_VERSIONS.aedes, `its Client has no ${method}()`);
    }
  }
  const constructorSource = installed.clientClass.toString();
  for (const assignment of CLIENT_CONSTRUCTOR_ASSIGNS) {
    if (!constructorSource.includes(assignment)) {
      throw new AedesContractError('aedes', aedesVersion, SUPPORTED_VERSIONS.aedes, `its Client constructor no longer sets ${assignment.slice(5, -2)}`);
    }
  }
  for (const [file, text, why] of AEDES_SOURCE_FACTS) {
    if (!(installed.aedesSources[file] ?? '').includes(text)) {
      throw new AedesContractError('aedes', aedesVersion, SUPPORTED_VERSIONS.aedes, `${file} no longer shows that ${why}`);
    }
  }
  return {
    parserPrototype: installed.parserPrototype as unknown as VerifiedAedes['parserPrototype'],
    Packet: (installed.parser.packet as { constructor: VerifiedAedes['Packet'] }).constructor,
    clientPrototype: installed.clientClass.prototype as unknown as VerifiedAedes['clientPrototype'],
  };
}

/**
 * The same for one broker, once `Aedes.createBroker` resolved and before it handles a client: the
 * broker's methods and fields, and its persistence's (which the app may have given).
 */
export function verifyAedesBroker(broker: Aedes): void {
  const fields = broker as unknown as Record<string, unknown> & { persistence?: Record<string, unknown>; mq?: Record<string, unknown> };
  const version = (broker as unknown as { version?: string }).version;
  const fail = (detail: string): never => {
    throw new AedesContractError('aedes', version, SUPPORTED_VERSIONS.aedes, detail);
  };
  for (const method of BROKER_METHODS) if (typeof fields[method] !== 'function') fail(`its broker has no ${method}()`);
  if (typeof fields.clients !== 'object' || fields.clients === null) fail('its broker has no "clients" map');
  if (typeof fields.mq?.emit !== 'function' || typeof fields.mq.on !== 'function') fail('its broker has no emitter ("mq")');
  for (const method of PERSISTENCE_METHODS) {
    if (typeof fields.persistence?.[method] !== 'function') {
      throw new Error(`nestjs-mqtt-ws cannot start: the persistence has no ${method}() (an aedes-persistence compatible store is required)`);
    }
  }
}
