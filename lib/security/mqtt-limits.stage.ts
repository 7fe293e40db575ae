import { Logger } from '@nestjs/common';
import { defineHookStage, type MqttHookStage } from '../broker/hook-chain.js';
import { describeClient } from './describe-client.js';

const logger = new Logger('MqttWsModule');
/** CONNACK return code 2 [MQTT-3.2.2-5]. */
const IDENTIFIER_REJECTED = 2;

export interface MqttTopicLimits {
  maxTopicLength: number;
  maxClientIdLength: number;
}

/**
 * The size limits that are hook decisions: client id length (Aedes checks `maxClientsIdLength` for
 * MQTT 3.1 only) and topic length. Second in the chain, after the protocol checks and before the
 * auth policy, so an oversized topic never reaches the user's code. The limits on bytes (packet
 * size, bytes waiting for a slow consumer) are the broker adapter's (lib/broker/aedes/).
 */
export function brokerLimitsStage(limits: MqttTopicLimits): MqttHookStage {
  return defineHookStage({
    name: 'limits',

    preConnect(client, packet, callback, preConnect) {
      if (packet.clientId.length <= limits.maxClientIdLength) return preConnect(client, packet, callback);
      logger.warn(`Refused connection of ${describeClient(client)}: client id longer than ${limits.maxClientIdLength}`);
      client.refuseConnect(IDENTIFIER_REJECTED);
      callback(null, false);
    },

    authorizePublish(client, packet, callback, authorizePublish) {
      if (packet.topic.length <= limits.maxTopicLength) return authorizePublish(client, packet, callback);
      if (client) logger.warn(`Refused a message from ${describeClient(client)}: topic longer than ${limits.maxTopicLength}; disconnecting`);
      const error = new Error(`topic longer than ${limits.maxTopicLength}`);
      (error as Error & { closeCode?: number }).closeCode = 1008;
      callback(error);
    },

    authorizeSubscribe(client, subscription, callback, authorizeSubscribe) {
      if (subscription.topic.length <= limits.maxTopicLength) return authorizeSubscribe(client, subscription, callback);
      logger.debug(`Refused a subscription of ${describeClient(client)}: topic filter longer than ${limits.maxTopicLength}`);
      callback(null, null);
    },
  });
}
