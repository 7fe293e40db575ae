/**
 * The sample's topic tree. Everything about device `<id>` lives under `devices/<id>/`; the device's
 * MQTT client id is its device id.
 */
export const topics = {
  /** Device → server, every second: `{ "temperature": number, "humidity"?: number }`. */
  telemetry: (deviceId: string) => `devices/${deviceId}/telemetry`,
  /** Dashboard → device: `{ "led": "on" | "off" }`. */
  commands: (deviceId: string) => `devices/${deviceId}/commands`,
  /** Device → everyone, retained: `{ "led": "on" | "off" }`, after each command it applied. */
  state: (deviceId: string) => `devices/${deviceId}/state`,
  /** Server (and the device's last will) → everyone, retained: `online` or `offline`. */
  status: (deviceId: string) => `devices/${deviceId}/status`,
  /** Server → everyone: `{ "temperature": number, "threshold": number }` for each reading above the threshold. */
  alerts: (deviceId: string) => `devices/${deviceId}/alerts`,
};

/** A reading hotter than this, in °C, raises an alert. */
export const ALERT_THRESHOLD = 50;

export type LedState = 'on' | 'off';
