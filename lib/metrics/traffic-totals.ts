/**
 * MQTT bytes through a listener since start-up: the payloads of WebSocket binary frames, without
 * the frames' headers (what an MQTT/TCP listener would count on its socket). The transport adds to
 * these numbers as frames go by; the metrics and `$SYS` read them when asked.
 */
export interface MqttTrafficTotals {
  bytesReceived: number;
  bytesSent: number;
  /** Connections the listener refused before MQTT (the WebSocket handshake, or the TCP accept over the limits). */
  handshakesRefused: number;
}
