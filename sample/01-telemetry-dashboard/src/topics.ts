/**
 * The sample's topic tree. Everything about device `<id>` lives under `devices/<id>/`; the device's
 * MQTT client id is its device id.
 */
export const topics = {
  /** Device → server, every second: `{ "temperature": number, "humidity"?: number }`. */
  telemetry: (deviceId: string) => `devices/${deviceId}/telemetry`,
  /**
   * Dashboard → server, an MQTT 5 request: `{ "led": "on" | "off" }`. The server's answer, on the
   * request's response topic, is the device's acknowledgement `{ "led": "on" | "off" }` or an error
   * response (user property `error`: `offline`, `timeout`, `400`, `invalid-command`).
   */
  led: (deviceId: string) => `devices/${deviceId}/led`,
  /** Server → device, an MQTT 5 request: `{ "led": "on" | "off" }`; the device answers `{ "led": … }` once applied. */
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

/** How long the server waits for a device to acknowledge a command. */
export const COMMAND_TIMEOUT_MS = 3000;
