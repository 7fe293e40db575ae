const SLASH = 47;
const PLUS = 43;
const HASH = 35;
const DOLLAR = 36;

/** Why a SUBSCRIBE or UNSUBSCRIBE topic filter is invalid, or `undefined` when it is valid. */
export function topicFilterError(filter: string): string | undefined {
  // [MQTT-4.7.3-1]
  if (filter.length === 0) return 'a topic filter must be at least one character long';
  const last = filter.length - 1;
  for (let i = 0; i <= last; i++) {
    const code = filter.charCodeAt(i);
    if (code === HASH) {
      // [MQTT-4.7.1-2] '#' stands alone on the last level.
      if (i !== last || (i > 0 && filter.charCodeAt(i - 1) !== SLASH)) {
        return `"${filter}": '#' must be the last character, alone on its level`;
      }
    } else if (code === PLUS) {
      // [MQTT-4.7.1-3] '+' fills a whole level. Aedes' own check misses 'a+', '+a' and 'a/+b'.
      if ((i > 0 && filter.charCodeAt(i - 1) !== SLASH) || (i < last && filter.charCodeAt(i + 1) !== SLASH)) {
        return `"${filter}": '+' must occupy an entire level`;
      }
    }
  }
  return undefined;
}

/** Why a topic name (a will topic here; Aedes checks PUBLISH topics itself) is invalid, or `undefined`. */
export function topicNameError(name: string): string | undefined {
  // [MQTT-4.7.3-1]
  if (name.length === 0) return 'a topic name must be at least one character long';
  // [MQTT-4.7.1-1], [MQTT-3.3.2-2]
  if (name.includes('+') || name.includes('#')) return `"${name}": a topic name must not contain wildcards`;
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
