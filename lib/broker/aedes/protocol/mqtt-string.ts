import { isUtf8 } from 'node:buffer';
import type { PacketBytes } from './packet-bytes.js';

const REPLACEMENT_CHARACTER = '\uFFFD';
const NULL_CHARACTER = '\u0000';

/**
 * Whether a string the parser decoded from `bytes` (its 2-byte length prefix at `prefixOffset`)
 * is a well-formed MQTT UTF-8 string. The parser decodes with `Buffer#toString`, which turns
 * ill-formed sequences and encoded surrogates into U+FFFD instead of failing [MQTT-1.5.3-1], and
 * lets U+0000 through [MQTT-1.5.3-2]. Only a string that contains U+FFFD needs its bytes read
 * again, since that character may also have been sent as such: the common case costs two scans.
 */
export function isWellFormedMqttString(value: string, bytes: PacketBytes, prefixOffset: number): boolean {
  if (value.includes(NULL_CHARACTER)) return false;
  if (!value.includes(REPLACEMENT_CHARACTER)) return true;
  const start = prefixOffset + 2;
  return isUtf8(bytes.slice(start, start + bytes.readUInt16BE(prefixOffset)));
}
