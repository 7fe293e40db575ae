import type { MqttUpgradeRequest } from '../interfaces/mqtt-upgrade-request.interface.js';
import { Logger } from '@nestjs/common';
import type { Aedes, AedesPublishPacket, AuthenticateError, Client, PublishPacket, Subscription } from 'aedes';
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
import { clientAddress } from './trusted-proxies.js';

const logger = new Logger('MqttWsModule');
const REASONS: Record<number, string> = {
  [MqttConnectReturnCode.IdentifierRejected]: 'identifier rejected',
  [MqttConnectReturnCode.ServerUnavailable]: 'server unavailable',
  [MqttConnectReturnCode.BadUsernameOrPassword]: 'bad user name or password',
  [MqttConnectReturnCode.NotAuthorized]: 'not authorized',
};

class ConnectAuthContext implements MqttConnectAuthContext {
  constructor(
    readonly client: Client,
    readonly username: string | undefined,
    readonly password: Buffer | undefined,
  ) {}
  get clientId(): string {
    return this.client.id;
  }
  get request(): MqttUpgradeRequest {
    return this.client.req as MqttUpgradeRequest;
  }
  get remoteAddress(): string | undefined {
    return clientAddress(this.client);
  }
}

class PublishAuthContext implements MqttPublishAuthContext {
  constructor(
    readonly client: Client,
    readonly packet: PublishPacket,
  ) {}
  get clientId(): string {
    return this.client.id;
  }
  get topic(): string {
    return this.packet.topic;
  }
  get request(): MqttUpgradeRequest | undefined {
    return this.client.req;
  }
  get principal(): unknown {
    return getMqttPrincipal(this.client);
  }
}

class SubscribeAuthContext implements MqttSubscribeAuthContext {
  constructor(
    readonly client: Client,
    private readonly subscription: Subscription,
  ) {}
  get clientId(): string {
    return this.client.id;
  }
  get topic(): string {
    return this.subscription.topic;
  }
  get qos(): 0 | 1 | 2 {
    return this.subscription.qos as 0 | 1 | 2;
  }
  get request(): MqttUpgradeRequest | undefined {
    return this.client.req;
  }
  get principal(): unknown {
    return getMqttPrincipal(this.client);
  }
}

/**
 * Puts the auth policy in front of the broker's hooks. Each hook asks the policy first and, when
 * it allows, passes on to the hook that was there before (Aedes' default keeps `$SYS/` topics
 * unpublishable). Synchronous answers take a path without closures; Promises are awaited.
 */
export function installMqttAuthHooks(broker: Aedes, host: MqttAuthPolicyHost): void {
  const authenticate = broker.authenticate;
  broker.authenticate = (client, username, password, callback) => {
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
  };

  const authorizePublish = broker.authorizePublish;
  broker.authorizePublish = (client, packet, callback) => {
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
  };

  const authorizeSubscribe = broker.authorizeSubscribe;
  broker.authorizeSubscribe = (client, subscription, callback) => {
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
  };

  const authorizeForward = broker.authorizeForward;
  broker.authorizeForward = (client, packet) => {
    const policy = host.policy;
    if (policy?.authorizeForward === undefined) return authorizeForward(client, packet);
    let allowed: unknown;
    try {
      allowed = policy.authorizeForward(new PublishAuthContext(client, packet));
    } catch (error) {
      logger.error(`Auth policy failed to forward "${packet.topic}" to ${describeClient(client)}: ${messageOf(error)}`);
      return null;
    }
    return allowed === true ? authorizeForward(client, packet as AedesPublishPacket) : null;
  };
}

function settleSubscribe(
  client: Client,
  subscription: Subscription,
  granted: boolean | number,
  next: Aedes['authorizeSubscribe'],
  callback: Parameters<Aedes['authorizeSubscribe']>[2],
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

function refuseConnect(
  client: Client,
  code: MqttConnectReturnCode,
  reason: string,
  callback: Parameters<Aedes['authenticate']>[3],
): void {
  logger.warn(`Refused connection of ${describeClient(client)}: ${reason} (CONNACK ${code})`);
  const error = new Error(reason) as AuthenticateError;
  error.returnCode = code as unknown as AuthenticateError['returnCode'];
  callback(error, false);
}

function refusePublish(client: Client, packet: PublishPacket, reason: string, callback: (error?: Error | null) => void): void {
  logger.warn(`Refused a message on "${truncate(packet.topic)}" from ${describeClient(client)}: ${reason}; disconnecting`);
  callback(new Error(`publish to "${truncate(packet.topic)}" refused: ${reason}`));
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
