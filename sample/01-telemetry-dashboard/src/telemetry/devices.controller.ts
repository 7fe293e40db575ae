import { Controller, Get } from '@nestjs/common';
import { DevicesStore, type DeviceSnapshot } from './devices.store.js';

/** Plain HTTP next to MQTT: what the dashboard shows before the next live reading arrives. */
@Controller('api/devices')
export class DevicesController {
  constructor(private readonly devices: DevicesStore) {}

  @Get()
  list(): DeviceSnapshot[] {
    return this.devices.list();
  }
}
