import { VirtualDevice } from './virtual-device.js';

export interface DeviceSimulatorOptions {
  /** The broker, e.g. `ws://localhost:3000/mqtt`. */
  url: string;
  deviceIds?: string[];
  intervalMs?: number;
}

export const DEFAULT_DEVICE_IDS = ['d1', 'd2', 'd3'];

/** A fleet of virtual devices, started and stopped together. */
export class DeviceSimulator {
  private constructor(readonly devices: VirtualDevice[]) {}

  static async start({ url, deviceIds = DEFAULT_DEVICE_IDS, intervalMs }: DeviceSimulatorOptions): Promise<DeviceSimulator> {
    const devices = deviceIds.map((id) => new VirtualDevice(id, url, intervalMs));
    const simulator = new DeviceSimulator(devices);
    try {
      await Promise.all(devices.map((device) => device.start()));
    } catch (error) {
      await simulator.stop();
      throw error;
    }
    return simulator;
  }

  async stop(): Promise<void> {
    await Promise.all(this.devices.map((device) => device.stop()));
  }
}
