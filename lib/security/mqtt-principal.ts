import type { Client } from 'aedes';

const principals = new WeakMap<Client, object>();

export function setMqttPrincipal(client: Client, principal: object): void {
  principals.set(client, principal);
}

/**
 * What the auth policy's `authenticate` returned for a client, when it returned an object: the
 * user, the token's claims. Takes the client, or a handler's `MqttContext`.
 */
export function getMqttPrincipal<Principal = unknown>(
  clientOrContext: Client | { readonly client: Client | null } | null | undefined,
): Principal | undefined {
  if (!clientOrContext) return undefined;
  const client = 'conn' in clientOrContext ? clientOrContext : (clientOrContext as { client: Client | null }).client;
  return client ? (principals.get(client) as Principal | undefined) : undefined;
}
