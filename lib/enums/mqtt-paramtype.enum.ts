/**
 * Nest's pipes name a param's kind from its number: 3 is 'body' and 5 is 'param', which a global
 * `ValidationPipe` validates and transforms; everything else is 'custom', which it leaves alone.
 * So the payload and the named topic params borrow those two numbers and the rest stay clear of
 * every HTTP route param number.
 */
export enum MqttParamtype {
  PAYLOAD = 3,
  PARAMS = 5,
  TOPIC = 100,
  PACKET = 101,
  CLIENT_ID = 102,
  CONTEXT = 103,
  PROPERTIES = 104,
  USER_PROPERTIES = 105,
}
