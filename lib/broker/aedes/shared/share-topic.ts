/** MQTT 5 shared subscription filters `$share/{ShareName}/{filter}` [MQTT-4.8.2]. */

export const SHARE_PREFIX = '$share/';

/** A subscription the parser rewrote from `$share/{group}/{filter}` to `{filter}` carries its group here. */
export const SHARE_GROUP = Symbol('shareGroup');

export interface ShareParts {
  group: string;
  filter: string;
}

/**
 * The group and filter of `$share/{group}/{filter}`; undefined for any other filter and for a malformed
 * one: an empty ShareName, one with `+` or `#` [MQTT-4.8.2-2], or no filter after it [MQTT-4.8.2-1].
 */
export function parseShareFilter(topic: string): ShareParts | undefined {
  if (!topic.startsWith(SHARE_PREFIX)) return undefined;
  const slash = topic.indexOf('/', SHARE_PREFIX.length);
  if (slash <= SHARE_PREFIX.length || slash === topic.length - 1) return undefined;
  const group = topic.slice(SHARE_PREFIX.length, slash);
  if (group.includes('+') || group.includes('#')) return undefined;
  return { group, filter: topic.slice(slash + 1) };
}

/** The key of a group in the registry, `{group}/{filter}`: unique, as a ShareName has no `/`. */
export function groupKey(group: string, filter: string): string {
  return `${group}/${filter}`;
}

/** The filter as a persistent session's store keeps it: its `$share/` form, so that a restored session keeps its group. */
export function storedShareTopic(key: string): string {
  return SHARE_PREFIX + key;
}
