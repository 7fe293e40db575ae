import type { MqttUpgradeRequest } from '../interfaces/mqtt-upgrade-request.interface.js';
import type { InjectionToken, Type } from '@nestjs/common';
import type { MqttClientInfo, MqttPublishPacket } from '../broker/mqtt-broker.js';
import type { MqttReasonCode } from '../interfaces/mqtt5.interface.js';

/** A result a policy method may return as it is or in a Promise. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * CONNACK return codes (MQTT 3.1.1 table 3.1) an `authenticate` method may return to refuse a
 * connection with a code of its choice; `false` refuses with `BadUsernameOrPassword`.
 */
export enum MqttConnectReturnCode {
  IdentifierRejected = 2,
  ServerUnavailable = 3,
  BadUsernameOrPassword = 4,
  NotAuthorized = 5,
}

/** What `authenticate` knows about a connecting client. */
export interface MqttConnectAuthContext {
  readonly client: MqttClientInfo;
  readonly clientId: string;
  readonly username: string | undefined;
  /** The CONNECT password, as sent: a JWT, an API key… Never log it. */
  readonly password: Buffer | undefined;
  /** The HTTP upgrade request of the WebSocket: headers, cookies, the query in `url`. `undefined` over TCP and TLS (`client.transport`). */
  readonly request: MqttUpgradeRequest | undefined;
  /** The client's address: from `X-Forwarded-For` when the connection came through a trusted proxy. */
  readonly remoteAddress: string | undefined;
}

/** What `authorizePublish` and `authorizeForward` know about a message and its client. */
export interface MqttPublishAuthContext<Principal = unknown> {
  readonly client: MqttClientInfo;
  readonly clientId: string;
  readonly topic: string;
  readonly packet: MqttPublishPacket;
  readonly request: MqttUpgradeRequest | undefined;
  /** What `authenticate` returned for this client, when it returned an object. */
  readonly principal: Principal | undefined;
}

/** What `authorizeSubscribe` knows about one topic filter of a SUBSCRIBE. */
export interface MqttSubscribeAuthContext<Principal = unknown> {
  readonly client: MqttClientInfo;
  readonly clientId: string;
  /** The topic filter, wildcards included. */
  readonly topic: string;
  readonly qos: 0 | 1 | 2;
  readonly request: MqttUpgradeRequest | undefined;
  readonly principal: Principal | undefined;
}

/**
 * An MQTT 5 refusal of a connection: a CONNACK reason code of 0x80 or more (MQTT 5.0 table 3-6,
 * e.g. `MqttReasonCode.BadUserNameOrPassword` 0x86, `NotAuthorized` 0x87, `Banned` 0x8A,
 * `QuotaExceeded` 0x97) and a reason string for humans. MQTT 5 clients get both; MQTT 3.1.1 clients
 * get the nearest CONNACK return code (`connectReturnCodeOf`) and no string.
 */
export interface MqttConnectRefusalReason {
  reasonCode: MqttReasonCode;
  reasonString?: string;
}

/**
 * `true` accepts; `false` refuses with CONNACK 4 (bad user name or password; 0x86 for MQTT 5); a
 * 3.1.1 return code (2 to 5) or an MQTT 5 reason code (0x80 or more) refuses with that code;
 * `{ reasonCode, reasonString? }` refuses with that reason; any other object accepts and becomes the
 * client's principal, handed to every later hook as `principal` and to handlers through
 * `getMqttPrincipal(context)` (so a principal must not have a numeric `reasonCode` property).
 */
export type MqttAuthenticateResult = boolean | MqttConnectReturnCode | MqttReasonCode | MqttConnectRefusalReason | object;

/**
 * Who may connect, publish, subscribe and receive. Implement the methods you need as an
 * `@Injectable()` class and name it in the module's `auth` option: it is resolved from the app's
 * dependency injection, so it can use a `JwtService`, a `UsersService` or a `ConfigService`.
 * A method that is absent allows everything it would decide. A method that throws or rejects
 * refuses (CONNACK 3 for `authenticate`), and the error is logged.
 */
export interface MqttAuthPolicy<Principal = unknown> {
  authenticate?(context: MqttConnectAuthContext): MaybePromise<MqttAuthenticateResult>;
  /**
   * `false` refuses the message. An MQTT 5 client gets PUBACK/PUBREC 0x87 (not authorized; a QoS 0
   * message is dropped) and stays connected; an MQTT 3.1.1 client is disconnected, as 3.1.1 has no
   * negative PUBACK [MQTT-3.3.5-2]. Topics starting with `$SYS/` are refused before this runs.
   * Messages published by the server (`MqttService.publish`) are not subject to it.
   */
  authorizePublish?(context: MqttPublishAuthContext<Principal>): MaybePromise<boolean>;
  /** `true` grants the requested QoS, a number grants at most that QoS, `false` answers SUBACK 0x80. */
  authorizeSubscribe?(context: MqttSubscribeAuthContext<Principal>): MaybePromise<boolean | 0 | 1 | 2>;
  /**
   * `false` keeps one message from one subscriber. Runs for every delivery, so it must be
   * synchronous (a Promise counts as `false`) and cheap.
   */
  authorizeForward?(context: MqttPublishAuthContext<Principal>): boolean;
}

/**
 * How the module finds the policy:
 * - a class: the app's instance when the class is a provider of any module (so it can inject that
 *   module's services), otherwise a new instance created with what `MqttWsModule` can inject;
 * - `{ useExisting: token }`: the provider of that token, from any module;
 * - `{ useClass }`: always a new instance, created with what `MqttWsModule` can inject (global
 *   providers and the `imports` of `forRootAsync`);
 * - `{ useValue }`: this object.
 */
export type MqttAuthOption =
  | Type<MqttAuthPolicy>
  | { useExisting: InjectionToken }
  | { useClass: Type<MqttAuthPolicy> }
  | { useValue: MqttAuthPolicy };
