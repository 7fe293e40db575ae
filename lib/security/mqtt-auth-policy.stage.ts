import type { MqttUpgradeRequest } from '../interfaces/mqtt-upgrade-request.interface.js';
import { Logger } from '@nestjs/common';
import { defineHookStage, type AuthenticateCallback, type MqttHookStage, type MqttHooks, type SubscribeCallback } from '../broker/hook-chain.js';
import type { MqttBrokerClient, MqttClientInfo, MqttConnectRefusal, MqttDone, MqttPublishPacket, MqttSubscription } from '../broker/mqtt-broker.js';
import type { MqttAuthPolicyHost } from './mqtt-auth-policy.host.js';
import {
  MqttConnectReturnCode,
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

function refuseConnect(client: MqttBrokerClient, code: MqttConnectReturnCode, reason: string, callback: AuthenticateCallback): void {
  logger.warn(`Refused connection of ${describeClient(client)}: ${reason} (CONNACK ${code})`);
  const error = new Error(reason) as MqttConnectRefusal;
  error.returnCode = code as number as MqttConnectRefusal['returnCode'];
  callback(error, false);
}

function refusePublish(client: MqttBrokerClient, packet: MqttPublishPacket, reason: string, callback: MqttDone): void {
  logger.warn(`Refused a message on "${truncate(packet.topic)}" from ${describeClient(client)}: ${reason}; disconnecting`);
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
