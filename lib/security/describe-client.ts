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

/**
 * What JSON.stringify leaves as is but a log line must not carry: DEL and C1 controls, line and
 * paragraph separators, and bidirectional overrides, which can make a log viewer show other text.
 */
const UNSAFE_IN_LOGS = /[\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** A client id for a log line, quoted and cut; control characters are escaped (`\u0007`). */
export function quoteClientId(id: string): string {
  const quoted = JSON.stringify(id.length > MAX_ID_SHOWN ? `${id.slice(0, MAX_ID_SHOWN)}…` : id);
  return quoted.replace(UNSAFE_IN_LOGS, escapeCharacter);
}

function escapeCharacter(character: string): string {
  return `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`;
}
