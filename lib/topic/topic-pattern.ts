const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A handler's topic filter: the pattern as written (`sensors/:deviceId/#`), the MQTT filter it
 * subscribes with (`sensors/+/#`), and where its named levels sit in a matching topic.
 */
export class TopicFilter {
  private constructor(
    readonly pattern: string,
    readonly mqttFilter: string,
    private readonly paramNames: readonly string[],
    private readonly paramLevels: readonly number[],
  ) {}

  /** Throws a message saying what is wrong with the pattern; the caller adds where it came from. */
  static parse(pattern: string): TopicFilter {
    if (typeof pattern !== 'string' || pattern.length === 0) {
      throw new Error('a topic filter must be a non-empty string');
    }
    if (pattern.includes('\u0000')) {
      throw new Error('a topic filter must not contain the null character');
    }
    if (Buffer.byteLength(pattern) > 65535) {
      throw new Error('a topic filter must be at most 65535 bytes');
    }
    const levels = pattern.split('/');
    const paramNames: string[] = [];
    const paramLevels: number[] = [];
    levels.forEach((level, index) => {
      if (level === '#') {
        if (index !== levels.length - 1) throw new Error("'#' must be the last level of a topic filter");
        return;
      }
      if (level.startsWith(':')) {
        const name = level.slice(1);
        if (!PARAM_NAME.test(name)) {
          throw new Error(`'${level}' is not a valid named level (':' then letters, digits or '_')`);
        }
        if (paramNames.includes(name)) throw new Error(`the named level ':${name}' appears twice`);
        paramNames.push(name);
        paramLevels.push(index);
        levels[index] = '+';
        return;
      }
      if (level !== '+' && (level.includes('+') || level.includes('#'))) {
        throw new Error(`'+' and '#' must fill a whole level, found '${level}'`);
      }
    });
    return new TopicFilter(pattern, levels.join('/'), paramNames, paramLevels);
  }

  get hasParams(): boolean {
    return this.paramNames.length > 0;
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
