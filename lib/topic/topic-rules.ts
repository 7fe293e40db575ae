/**
 * MQTT 3.1.1 section 4.7, once for the whole library: the protocol checks, the handler filters
 * (`topic-pattern.ts`) and the matching of granted subscriptions all use these functions.
 */
const NULL = 0;
const SLASH = 47;
const PLUS = 43;
const HASH = 35;
const DOLLAR = 36;
const MAX_BYTES = 65535;
/** A string of at most this many UTF-16 units cannot encode to more than 65535 UTF-8 bytes. */
const SURELY_SHORT_ENOUGH = Math.floor(MAX_BYTES / 3);

/**
 * The rule a topic filter breaks, with its clause, or `undefined` when the filter is valid. The
 * wording leaves out the filter itself, so that callers can say where it came from.
 */
export function topicFilterRuleBroken(filter: string): string | undefined {
  if (filter.length === 0) return 'a topic filter must be at least one character long [MQTT-4.7.3-1]';
  const last = filter.length - 1;
  for (let i = 0; i <= last; i++) {
    const code = filter.charCodeAt(i);
    if (code === HASH) {
      if (i !== last || (i > 0 && filter.charCodeAt(i - 1) !== SLASH)) {
        return "'#' must be the last level of a topic filter, alone on its level [MQTT-4.7.1-2]";
      }
    } else if (code === PLUS) {
      // Aedes' own check misses 'a+', '+a' and 'a/+b'.
      if ((i > 0 && filter.charCodeAt(i - 1) !== SLASH) || (i < last && filter.charCodeAt(i + 1) !== SLASH)) {
        return "'+' must occupy an entire level of a topic filter [MQTT-4.7.1-3]";
      }
    } else if (code === NULL) {
      return 'a topic filter must not contain the null character U+0000 [MQTT-4.7.3-2]';
    }
  }
  if (filter.length > SURELY_SHORT_ENOUGH && Buffer.byteLength(filter) > MAX_BYTES) {
    return 'a topic filter must not encode to more than 65535 bytes [MQTT-4.7.3-3]';
  }
  return undefined;
}

/** Why a SUBSCRIBE or UNSUBSCRIBE topic filter is invalid (the filter, then the rule), or `undefined`. */
export function topicFilterError(filter: string): string | undefined {
  const rule = topicFilterRuleBroken(filter);
  return rule === undefined ? undefined : `"${filter}": ${rule}`;
}

/** Why a topic name (a will topic, a server PUBLISH) is invalid, or `undefined`. */
export function topicNameError(name: string): string | undefined {
  if (name.length === 0) return 'a topic name must be at least one character long [MQTT-4.7.3-1]';
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code === PLUS || code === HASH) {
      return `"${name}": a topic name must not contain the wildcards '+' and '#' [MQTT-4.7.1-1], [MQTT-3.3.2-2]`;
    }
    if (code === NULL) return 'a topic name must not contain the null character U+0000 [MQTT-4.7.3-2]';
  }
  if (name.length > SURELY_SHORT_ENOUGH && Buffer.byteLength(name) > MAX_BYTES) {
    return 'a topic name must not encode to more than 65535 bytes [MQTT-4.7.3-3]';
  }
  return undefined;
}

/**
 * Whether a valid topic filter matches a topic name, without allocating: '+' matches one level
 * (empty levels too), '#' the parent and every level below it [MQTT-4.7.1-2], and a filter that
 * starts with a wildcard never matches a topic that starts with '$' [MQTT-4.7.2-1].
 */
export function topicMatchesFilter(filter: string, topic: string): boolean {
  const first = filter.charCodeAt(0);
  if (topic.charCodeAt(0) === DOLLAR && (first === PLUS || first === HASH)) return false;
  const filterLength = filter.length;
  const topicLength = topic.length;
  let f = 0;
  let t = 0;
  while (f < filterLength) {
    const code = filter.charCodeAt(f);
    if (code === HASH) return true;
    if (code === PLUS) {
      while (t < topicLength && topic.charCodeAt(t) !== SLASH) t++;
      f++;
      continue;
    }
    if (t === topicLength || topic.charCodeAt(t) !== code) {
      // 'a/#' also matches 'a'.
      return t === topicLength && code === SLASH && f + 2 === filterLength && filter.charCodeAt(f + 1) === HASH;
    }
    f++;
    t++;
  }
  return t === topicLength;
}
