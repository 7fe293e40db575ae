import { Injectable, UseFilters } from '@nestjs/common';
import { MqttService, MqttSubscribe, Params, Payload } from 'nestjs-mqtt-ws';
import { ALERT_THRESHOLD, topics } from '../topics.js';
import { DevicesStore } from './devices.store.js';
import { RejectedTelemetryFilter } from './rejected-telemetry.filter.js';
import { TelemetryDto } from './telemetry.dto.js';

@Injectable()
export class TelemetryService {
  constructor(
    private readonly mqtt: MqttService,
    private readonly devices: DevicesStore,
  ) {}

  /**
   * Runs for every message on `devices/<id>/telemetry`, whoever published it. The global
   * ValidationPipe has checked the payload against TelemetryDto before this runs: an invalid one
   * never gets here, and the filter logs why.
   */
  @MqttSubscribe('devices/:deviceId/telemetry')
  @UseFilters(new RejectedTelemetryFilter())
  async onTelemetry(@Payload() reading: TelemetryDto, @Params('deviceId') deviceId: string): Promise<void> {
    this.devices.recordReading(deviceId, reading);
    if (reading.temperature > ALERT_THRESHOLD) {
      await this.mqtt.publish(
        topics.alerts(deviceId),
        { temperature: reading.temperature, threshold: ALERT_THRESHOLD },
        { qos: 1 },
      );
    }
  }
}
