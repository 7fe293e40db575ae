import { MQTT_SUBPROTOCOLS } from '../mqtt-ws.constants.js';

/**
 * The subprotocol to answer a handshake with: `mqtt` when offered (MQTT 3.1.1 section 6), else
 * `mqttv3.1` for older clients; `false` when none was offered, `null` when only others were.
 */
export function selectMqttSubprotocol(header: string | undefined): string | false | null {
  if (header === undefined || header.trim() === '') return false;
  const offered = header.split(',').map((protocol) => protocol.trim());
  return MQTT_SUBPROTOCOLS.find((protocol) => offered.includes(protocol)) ?? null;
}
