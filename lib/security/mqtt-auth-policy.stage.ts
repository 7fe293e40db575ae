import type { MqttUpgradeRequest } from '../interfaces/mqtt-upgrade-request.interface.js';
import { Logger } from '@nestjs/common';
import { defineHookStage, type AuthenticateCallback, type MqttHookStage, type MqttHooks, type SubscribeCallback } from '../broker/hook-chain.js';
import type { MqttBrokerClient, MqttClientInfo, MqttConnectRefusal, MqttDone, MqttPublishPacket, MqttSubscription } from '../broker/mqtt-broker.js';
import type { MqttAuthPolicyHost } from './mqtt-auth-policy.host.js';
import { MqttReasonCode } from '../interfaces/mqtt5.interface.js';
import { CONNACK_REFUSALS, connectReturnCodeOf } from './mqtt-reason-codes.js';
import {
  MqttConnectReturnCode,
  type MqttConnectRefusalReason,
  type MqttAuthenticateResult,
  type MqttConnectAuthContext,
  type MqttPublishAuthContext,
  type MqttSubscribeAuthContext,
} from './mqtt-auth-policy.interface.js';
import { getMqttPrincipal, setMqttPrincipal } from './mqtt-principal.js';
import { describeClient } from './describe-client.js';

const logger = new Logger('MqttWsModule');
/** The WebSocket close code the transport sends for a refused message: 1008, policy violation. */
const POLICY_VIOLATION = 1008;
/** The MQTT 5 reason code of each 3.1.1 refusal, for the broker to send an MQTT 5 client. */
const REASON_CODE_OF: Record<number, MqttReasonCode> = {
  [MqttConnectReturnCode.IdentifierRejected]: MqttReasonCode.ClientIdentifierNotValid,
  [MqttConnectReturnCode.ServerUnavailable]: MqttReasonCode.ServerUnavailable,
  [MqttConnectReturnCode.BadUsernameOrPassword]: MqttReasonCode.BadUserNameOrPassword,
  [MqttConnectReturnCode.NotAuthorized]: MqttReasonCode.NotAuthorized,
};
const REASONS: Record<number, string> = {
  [MqttConnectReturnCode.IdentifierRejected]: 'identifier rejected',
  [MqttConnectReturnCode.ServerUnavailable]: 'server unavailable',
  [MqttConnectReturnCode.BadUsernameOrPassword]: 'bad user name or password',
  [MqttConnectReturnCode.NotAuthorized]: 'not authorized',
};

class ConnectAuthContext implements MqttConnectAuthContext {
  constructor(
    readonly client: MqttClientInfo,
    readonly username: string | undefined,
    readonly password: Buffer | undefined,
  ) {}
  get clientId(): string {
    return this.client.id!;
  }
  get request(): MqttUpgradeRequest | undefined {
    return this.client.request;
  }
  get remoteAddress(): string | undefined {
    return this.client.remoteAddress;
  }
}

class PublishAuthContext implements MqttPublishAuthContext {
  constructor(
    readonly client: MqttClientInfo,
    readonly packet: MqttPublishPacket,
  ) {}
  get clientId(): string {
    return this.client.id!;
  }
  get topic(): string {
    return this.packet.topic;
  }
  get request(): MqttUpgradeRequest | undefined {
    return this.client.request;
  }
  get principal(): unknown {
    return getMqttPrincipal(this.client);
  }
}

class SubscribeAuthContext implements MqttSubscribeAuthContext {
  constructor(
    readonly client: MqttClientInfo,
    private readonly subscription: MqttSubscription,
  ) {}
  get clientId(): string {
    return this.client.id!;
  }
  get topic(): string {
    return this.subscription.topic;
  }
  get qos(): 0 | 1 | 2 {
    return this.subscription.qos;
  }
  get request(): MqttUpgradeRequest | undefined {
    return this.client.request;
  }
  get principal(): unknown {
    return getMqttPrincipal(this.client);
  }
}

/**
 * The user's auth policy as a stage of the hook chain: each hook asks the policy and, when it
 * allows, passes on to the rest of the chain (the broker's default last keeps `$SYS/` topics
 * unpublishable). Synchronous answers take a path without closures; Promises are awaited.
 */
export function authPolicyStage(host: MqttAuthPolicyHost): MqttHookStage {
  return defineHookStage({
    name: 'auth-policy',

    authenticate(client, username, password, callback, authenticate) {
      const policy = host.policy;
      if (policy?.authenticate === undefined) return authenticate(client, username, password, callback);
      const settle = (result: MqttAuthenticateResult): void => {
        const refusal = mqtt5Refusal(result);
        if (refusal !== undefined) return refuseWithReason(client, refusal, callback);
        if (result === true || (typeof result === 'object' && result !== null)) {
          if (typeof result === 'object') setMqttPrincipal(client, result);
          return authenticate(client, username, password, callback);
        }
        const code = typeof result === 'number' && REASONS[result] ? result : MqttConnectReturnCode.BadUsernameOrPassword;
        refuseConnect(client, code, REASONS[code], callback);
      };
      const fail = (error: unknown): void => {
        logger.error(`Auth policy failed to authenticate ${describeClient(client)}: ${messageOf(error)}`);
        refuseConnect(client, MqttConnectReturnCode.ServerUnavailable, 'the auth policy failed', callback);
      };
      try {
        const result = policy.authenticate(new ConnectAuthContext(client, username, password));
        if (isThenable(result)) result.then(settle, fail);
        else settle(result);
      } catch (error) {
        fail(error);
      }
    },

    authorizePublish(client, packet, callback, authorizePublish) {
      const policy = host.policy;
      // A null client is a will Aedes publishes for a client of a broker that died (clustering).
      if (policy?.authorizePublish === undefined || client === null) return authorizePublish(client, packet, callback);
      let result: boolean | Promise<boolean>;
      try {
        result = policy.authorizePublish(new PublishAuthContext(client, packet));
      } catch (error) {
        return refusePublish(client, packet, `the auth policy failed: ${messageOf(error)}`, callback);
      }
      if (result === true) return authorizePublish(client, packet, callback);
      if (!isThenable(result)) return refusePublish(client, packet, 'not authorized', callback);
      result.then(
        (allowed) => (allowed === true ? authorizePublish(client, packet, callback) : refusePublish(client, packet, 'not authorized', callback)),
        (error) => refusePublish(client, packet, `the auth policy failed: ${messageOf(error)}`, callback),
      );
    },

    authorizeSubscribe(client, subscription, callback, authorizeSubscribe) {
      const policy = host.policy;
      if (policy?.authorizeSubscribe === undefined) return authorizeSubscribe(client, subscription, callback);
      let result: boolean | number | Promise<boolean | number>;
      try {
        result = policy.authorizeSubscribe(new SubscribeAuthContext(client, subscription));
      } catch (error) {
        logger.error(`Auth policy failed on a subscription of ${describeClient(client)}: ${messageOf(error)}`);
        return callback(null, null);
      }
      if (!isThenable(result)) return settleSubscribe(client, subscription, result, authorizeSubscribe, callback);
      result.then(
        (granted) => settleSubscribe(client, subscription, granted, authorizeSubscribe, callback),
        (error) => {
          logger.error(`Auth policy failed on a subscription of ${describeClient(client)}: ${messageOf(error)}`);
          callback(null, null);
        },
      );
    },

    authorizeForward(client, packet, authorizeForward) {
      const policy = host.policy;
      if (policy?.authorizeForward === undefined) return authorizeForward(client, packet);
      let allowed: unknown;
      try {
        allowed = policy.authorizeForward(new PublishAuthContext(client, packet));
      } catch (error) {
        logger.error(`Auth policy failed to forward "${packet.topic}" to ${describeClient(client)}: ${messageOf(error)}`);
        return null;
      }
      return allowed === true ? authorizeForward(client, packet) : null;
    },
  });
}

/**
 * Whether a client may have the server publish a message for it (the answer to its MQTT 5 request,
 * on the response topic it named): exactly when it could publish that message itself. Otherwise a
 * request naming another client's command topic as its response topic would publish there.
 */
export function mayPublishAs(host: MqttAuthPolicyHost): (client: MqttClientInfo, packet: MqttPublishPacket) => Promise<boolean> {
  return async (client, packet) => {
    if (packet.topic.startsWith('$SYS/')) return false;
    const policy = host.policy;
    if (policy?.authorizePublish === undefined) return true;
    try {
      return (await policy.authorizePublish(new PublishAuthContext(client, packet))) === true;
    } catch (error) {
      logger.error(`Auth policy failed on a response to ${describeClient(client)}: ${messageOf(error)}`);
      return false;
    }
  };
}

function settleSubscribe(
  client: MqttBrokerClient,
  subscription: MqttSubscription,
  granted: boolean | number,
  next: MqttHooks['authorizeSubscribe'],
  callback: SubscribeCallback,
): void {
  if (granted === true) return next(client, subscription, callback);
  if (granted === 0 || granted === 1 || granted === 2) {
    // In place: Aedes stores a persistent session's subscriptions from the SUBSCRIBE packet.
    if (granted < subscription.qos) subscription.qos = granted;
    return next(client, subscription, callback);
  }
  logger.debug(`Refused subscription to "${subscription.topic}" of ${describeClient(client)}: not authorized`);
  callback(null, null);
}

/** An MQTT 5 refusal: a reason code of 0x80 or more, alone or as `{ reasonCode, reasonString? }`. */
function mqtt5Refusal(result: MqttAuthenticateResult): MqttConnectRefusalReason | undefined {
  if (typeof result === 'number') return result >= 0x80 ? { reasonCode: result as MqttReasonCode } : undefined;
  if (typeof result !== 'object' || result === null) return undefined;
  const reasonCode = (result as Partial<MqttConnectRefusalReason>).reasonCode;
  return typeof reasonCode === 'number' ? (result as MqttConnectRefusalReason) : undefined;
}

function refuseWithReason(client: MqttBrokerClient, refusal: MqttConnectRefusalReason, callback: AuthenticateCallback): void {
  const { reasonCode, reasonString } = refusal;
  if (!CONNACK_REFUSALS.has(reasonCode) || (reasonString !== undefined && typeof reasonString !== 'string')) {
    logger.error(
      `Auth policy refused ${describeClient(client)} with ${JSON.stringify(refusal)}, which is no CONNACK refusal: the reasonCode ` +
        'must be a CONNACK reason code of 0x80 or more (MqttReasonCode.BadUserNameOrPassword, NotAuthorized, Banned, ' +
        'QuotaExceeded…) and the reasonString a string. Refused as server unavailable.',
    );
    return refuseConnect(client, MqttConnectReturnCode.ServerUnavailable, 'the auth policy gave an invalid reason', callback);
  }
  const code = connectReturnCodeOf(reasonCode);
  refuseConnect(client, code, reasonString ?? REASONS[code], callback, reasonCode, reasonString);
}

function refuseConnect(
  client: MqttBrokerClient,
  /** A 3.1.1 return code; the policy's own number only once checked against REASONS. */
  code: MqttConnectReturnCode | number,
  reason: string,
  callback: AuthenticateCallback,
  reasonCode: MqttReasonCode = REASON_CODE_OF[code],
  reasonString?: string,
): void {
  logger.warn(`Refused connection of ${describeClient(client)}: ${reason} (MQTT 5 reason 0x${reasonCode.toString(16)}, 3.1.1 CONNACK ${code})`);
  const error = new Error(reason) as MqttConnectRefusal;
  // The MQTT 5 reason code and string: the broker sends them to an MQTT 5 client and maps the code to
  // the nearest 3.1.1 return code (`code`, the same table as connectReturnCodeOf) for the others.
  error.returnCode = reasonCode;
  error.reasonString = reasonString ?? reason;
  callback(error, false);
}

function refusePublish(client: MqttBrokerClient, packet: MqttPublishPacket, reason: string, callback: MqttDone): void {
  // MQTT 5 has negative acknowledgements: the broker answers PUBACK/PUBREC 0x87 (QoS 0: drops the
  // message) and keeps the connection. MQTT 3.1.1 has none [MQTT-3.3.5-2]: the connection is closed.
  const outcome = client.protocolVersion === 5 ? 'answered 0x87 not authorized' : 'disconnecting';
  logger.warn(`Refused a message on "${truncate(packet.topic)}" from ${describeClient(client)}: ${reason}; ${outcome}`);
  const error = new Error(`publish to "${truncate(packet.topic)}" refused: ${reason}`);
  (error as Error & { closeCode?: number }).closeCode = POLICY_VIOLATION;
  callback(error);
}

function isThenable<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T> | null)?.then === 'function';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function truncate(topic: string): string {
  return topic.length > 128 ? `${topic.slice(0, 128)}…` : topic;
}
