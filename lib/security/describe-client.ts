const MAX_ID_SHOWN = 64;

/** What a log line shows of a client (an `MqttClientInfo`). */
interface DescribedClient {
  readonly id: string | null;
  readonly remoteAddress: string | undefined;
}

/** A client for a log line: its id, quoted and cut so that it cannot forge or flood log lines, and its address. */
export function describeClient(client: DescribedClient): string {
  const shown = quoteClientId(client.id ?? '(no id yet)');
  const address = client.remoteAddress;
  return address ? `client ${shown} from ${address}` : `client ${shown}`;
}

/** A client id for a log line, quoted and cut. */
export function quoteClientId(id: string): string {
  return JSON.stringify(id.length > MAX_ID_SHOWN ? `${id.slice(0, MAX_ID_SHOWN)}…` : id);
}
