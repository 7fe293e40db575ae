import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { MqttSubscribeMetadata } from './decorators/mqtt-subscribe.decorator.js';
import type { MqttEventName } from './interfaces/mqtt-events.interface.js';
import { MQTT_EVENT_METADATA, MQTT_SUBSCRIBE_METADATA } from './mqtt-ws.constants.js';

@Injectable()
export class MqttMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  getSubscriptions(method: Function): MqttSubscribeMetadata[] | undefined {
    return this.reflector.get(MQTT_SUBSCRIBE_METADATA, method);
  }

  getEvents(method: Function): MqttEventName[] | undefined {
    return this.reflector.get(MQTT_EVENT_METADATA, method);
  }
}
