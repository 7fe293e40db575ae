import type { MqttClientInfo } from '../broker/mqtt-broker.js';

/** By the client's description: the same object for the whole connection, dropped with it. */
const principals = new WeakMap<MqttClientInfo, object>();

export function setMqttPrincipal(client: MqttClientInfo, principal: object): void {
  principals.set(client, principal);
}

/**
 * What the auth policy's `authenticate` returned for a client, when it returned an object: the
 * user, the token's claims. Takes the client (an `MqttClientInfo`: an event's `client`, an auth
 * context's `client`), or a handler's `MqttContext`.
 */
export function getMqttPrincipal<Principal = unknown>(
  clientOrContext: MqttClientInfo | { readonly client: MqttClientInfo | null } | null | undefined,
): Principal | undefined {
  if (!clientOrContext) return undefined;
  const client = 'transport' in clientOrContext ? clientOrContext : (clientOrContext as { client: MqttClientInfo | null }).client;
  return client ? (principals.get(client) as Principal | undefined) : undefined;
}
