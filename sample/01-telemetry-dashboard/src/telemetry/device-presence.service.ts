import { Injectable, Logger } from '@nestjs/common';
import { MqttService, OnMqttEvent, type MqttClientEvent } from 'nestjs-mqtt-ws';
import { topics } from '../topics.js';
import { DevicesStore, type DeviceStatus } from './devices.store.js';

/**
 * Publishes each device's retained `devices/<id>/status` when it connects and disconnects.
 *
 * A client is a device when its last will is on its own status topic, `devices/<client id>/status`:
 * that is how a device says who it is, and it covers the crash the server cannot see coming (the
 * broker publishes the will). Dashboards and other clients carry no such will and get no status.
 */
@Injectable()
export class DevicePresenceService {
  private readonly logger = new Logger(DevicePresenceService.name);
  /** The connection each online device is on, so a late disconnect of a replaced connection is ignored. */
  private readonly connections = new Map<string, MqttClientEvent['client']>();

  constructor(
    private readonly mqtt: MqttService,
    private readonly devices: DevicesStore,
  ) {}

  @OnMqttEvent('client.connected')
  async onConnected({ clientId, client }: MqttClientEvent): Promise<void> {
    if (willTopicOf(client) !== topics.status(clientId)) return;
    this.connections.set(clientId, client);
    await this.announce(clientId, 'online');
  }

  @OnMqttEvent('client.disconnected')
  async onDisconnected({ clientId, client }: MqttClientEvent): Promise<void> {
    if (this.connections.get(clientId) !== client) return;
    this.connections.delete(clientId);
    await this.announce(clientId, 'offline');
  }

  private async announce(deviceId: string, status: DeviceStatus): Promise<void> {
    this.logger.log(`${deviceId} is ${status}`);
    this.devices.setStatus(deviceId, status);
    await this.mqtt.publish(topics.status(deviceId), status, { qos: 1, retain: true });
  }
}

/** Aedes keeps the will of the CONNECT packet on the client; its typings leave it out. */
function willTopicOf(client: MqttClientEvent['client']): string | undefined {
  return (client as { will?: { topic: string } | null }).will?.topic;
}
