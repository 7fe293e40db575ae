/*
 * MQTT 5.0 as the library's users see it: the properties a message carries and the reason codes a
 * server sends. The broker adapter maps its own packet fields to these; nothing here names a broker.
 */

/** The MQTT 5 properties of a PUBLISH (MQTT 5.0 section 3.3.2.3) that reach handlers and subscribers. */
export interface MqttPublishProperties {
  /** 0: unspecified bytes; 1: UTF-8 text [MQTT-3.3.2-4]. */
  payloadFormatIndicator?: boolean;
  /** Seconds the message stays deliverable; the server decrements it on delivery [MQTT-3.3.2-6]. */
  messageExpiryInterval?: number;
  /** Where a request's answer goes (request/response, section 4.10). */
  responseTopic?: string;
  /** Binary data that ties a response to its request. */
  correlationData?: Buffer;
  /** Name/value pairs passed through unchanged, in order; a name may repeat. */
  userProperties?: Record<string, string | string[]>;
  /** A MIME type or any UTF-8 description of the payload. */
  contentType?: string;
  /** The identifiers of the subscriptions that matched, on a delivered message only. */
  subscriptionIdentifier?: number | number[];
}

/** The protocol levels the endpoint speaks: 3 (MQTT 3.1), 4 (MQTT 3.1.1) and 5 (MQTT 5.0). */
export type MqttProtocolVersion = 3 | 4 | 5;

/**
 * MQTT 5.0 reason codes a server sends (section 2.4), by name. Values below 0x80 report success;
 * 0x80 and above report failure.
 */
export enum MqttReasonCode {
  Success = 0x00,
  GrantedQos1 = 0x01,
  GrantedQos2 = 0x02,
  DisconnectWithWillMessage = 0x04,
  NoMatchingSubscribers = 0x10,
  NoSubscriptionExisted = 0x11,
  UnspecifiedError = 0x80,
  MalformedPacket = 0x81,
  ProtocolError = 0x82,
  ImplementationSpecificError = 0x83,
  UnsupportedProtocolVersion = 0x84,
  ClientIdentifierNotValid = 0x85,
  BadUserNameOrPassword = 0x86,
  NotAuthorized = 0x87,
  ServerUnavailable = 0x88,
  ServerBusy = 0x89,
  Banned = 0x8a,
  ServerShuttingDown = 0x8b,
  BadAuthenticationMethod = 0x8c,
  KeepAliveTimeout = 0x8d,
  SessionTakenOver = 0x8e,
  TopicFilterInvalid = 0x8f,
  TopicNameInvalid = 0x90,
  PacketIdentifierInUse = 0x91,
  PacketIdentifierNotFound = 0x92,
  ReceiveMaximumExceeded = 0x93,
  TopicAliasInvalid = 0x94,
  PacketTooLarge = 0x95,
  MessageRateTooHigh = 0x96,
  QuotaExceeded = 0x97,
  AdministrativeAction = 0x98,
  PayloadFormatInvalid = 0x99,
  RetainNotSupported = 0x9a,
  QosNotSupported = 0x9b,
  UseAnotherServer = 0x9c,
  ServerMoved = 0x9d,
  SharedSubscriptionsNotSupported = 0x9e,
  ConnectionRateExceeded = 0x9f,
  MaximumConnectTime = 0xa0,
  SubscriptionIdentifiersNotSupported = 0xa1,
  WildcardSubscriptionsNotSupported = 0xa2,
}

/** A reason code with the human-readable reason string MQTT 5 lets a server add (never sent to 3.1.1 clients). */
export interface MqttReason {
  code: MqttReasonCode;
  reasonString?: string;
}
