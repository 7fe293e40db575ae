import { topicFilterRuleBroken, topicMatchesFilter } from './topic-rules.js';

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A handler's topic filter: the pattern as written (`sensors/:deviceId/#`), the MQTT filter it
 * subscribes with (`sensors/+/#`), and where its named levels sit in a matching topic. A `:name`
 * level is a `+` with a name; everything else follows the MQTT rules of `topic-rules.ts`.
 */
export class TopicFilter {
  private constructor(
    readonly pattern: string,
    readonly mqttFilter: string,
    /** The names of the `:name` levels, in order. */
    readonly paramNames: readonly string[],
    private readonly paramLevels: readonly number[],
  ) {}

  /** Throws the rule the pattern breaks (with its MQTT clause); the caller adds where it came from. */
  static parse(pattern: string): TopicFilter {
    if (typeof pattern !== 'string') throw new Error(`a topic filter must be a string, got ${typeof pattern}`);
    const levels = pattern.split('/');
    const paramNames: string[] = [];
    const paramLevels: number[] = [];
    for (let index = 0; index < levels.length; index++) {
      const level = levels[index];
      if (level.charCodeAt(0) !== 58 /* ':' */) continue;
      const name = level.slice(1);
      if (!PARAM_NAME.test(name)) {
        throw new Error(`'${level}' is not a valid named level (':' then a letter or '_', then letters, digits or '_')`);
      }
      if (paramNames.includes(name)) throw new Error(`the named level ':${name}' appears twice`);
      paramNames.push(name);
      paramLevels.push(index);
      levels[index] = '+';
    }
    const mqttFilter = paramNames.length === 0 ? pattern : levels.join('/');
    const rule = topicFilterRuleBroken(mqttFilter);
    if (rule !== undefined) throw new Error(rule);
    return new TopicFilter(pattern, mqttFilter, paramNames, paramLevels);
  }

  get hasParams(): boolean {
    return this.paramNames.length > 0;
  }

  /** MQTT matching, `$` rule included [MQTT-4.7.2-1]. */
  matches(topic: string): boolean {
    return topicMatchesFilter(this.mqttFilter, topic);
  }

  /** Only called for topics the filter matched, so every named level is present. */
  extractParams(topic: string): Record<string, string> {
    const params: Record<string, string> = Object.create(null);
    if (!this.hasParams) return params;
    const levels = topic.split('/');
    for (let i = 0; i < this.paramNames.length; i++) {
      params[this.paramNames[i]] = levels[this.paramLevels[i]];
    }
    return params;
  }
}
