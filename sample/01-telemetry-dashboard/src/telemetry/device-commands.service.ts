import { Injectable } from '@nestjs/common';
import { MqttRequestTimeoutError, MqttResponseError, MqttService, MqttSubscribe, Params, Payload } from 'nestjs-mqtt-ws';
import { COMMAND_TIMEOUT_MS, topics } from '../topics.js';
import { DevicesStore } from './devices.store.js';
import { LedCommandDto } from './led-command.dto.js';

/**
 * RPC over MQTT 5 in both directions. A dashboard asks the server on `devices/<id>/led` with a
 * response topic; the handler asks the device in turn (`MqttService.request`) and returns its
 * acknowledgement, which the library publishes to the dashboard's response topic with the
 * dashboard's correlation data. Errors reach the dashboard as error responses: an
 * `MqttResponseError` thrown here, the device's own error response, or the ValidationPipe's 400.
 */
@Injectable()
export class DeviceCommandsService {
  constructor(
    private readonly mqtt: MqttService,
    private readonly devices: DevicesStore,
  ) {}

  @MqttSubscribe('devices/:deviceId/led')
  async setLed(@Payload() command: LedCommandDto, @Params('deviceId') deviceId: string): Promise<LedCommandDto> {
    if (this.devices.statusOf(deviceId) !== 'online') {
      throw new MqttResponseError(`${deviceId} is offline`, { code: 'offline' });
    }
    try {
      return await this.mqtt.request<LedCommandDto>(topics.commands(deviceId), { led: command.led }, { timeout: COMMAND_TIMEOUT_MS });
    } catch (error) {
      if (error instanceof MqttRequestTimeoutError) {
        throw new MqttResponseError(`${deviceId} did not acknowledge within ${COMMAND_TIMEOUT_MS} ms`, { code: 'timeout' });
      }
      throw error;
    }
  }
}
