import { Injectable } from '@nestjs/common';
import type { TelemetryDto } from './telemetry.dto.js';

export type DeviceStatus = 'online' | 'offline' | 'unknown';

export interface DeviceSnapshot {
  id: string;
  status: DeviceStatus;
  latest?: TelemetryDto & { receivedAt: string };
}

/** The latest reading and status of each device the server has heard of, in memory. */
@Injectable()
export class DevicesStore {
  private readonly devices = new Map<string, DeviceSnapshot>();

  recordReading(id: string, reading: TelemetryDto): void {
    const { temperature, humidity } = reading;
    this.get(id).latest = { temperature, humidity, receivedAt: new Date().toISOString() };
  }

  setStatus(id: string, status: DeviceStatus): void {
    this.get(id).status = status;
  }

  statusOf(id: string): DeviceStatus {
    return this.devices.get(id)?.status ?? 'unknown';
  }

  list(): DeviceSnapshot[] {
    return [...this.devices.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  private get(id: string): DeviceSnapshot {
    let device = this.devices.get(id);
    if (!device) this.devices.set(id, (device = { id, status: 'unknown' }));
    return device;
  }
}
