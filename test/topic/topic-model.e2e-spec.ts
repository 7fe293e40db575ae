import qlobber from 'qlobber';
import { Random } from '../security/utils/random.js';
import { TopicFilter } from '../../lib/topic/topic-pattern.js';
import { topicFilterError, topicFilterRuleBroken, topicMatchesFilter, topicNameError } from '../../lib/topic/topic-rules.js';

describe('MQTT 3.1.1 section 4.7: topic filters and topic names', () => {
  // The examples of sections 4.7.1.2, 4.7.1.3 and 4.7.2, then edge cases of the same rules.
  it.each([
    ['sport/tennis/player1/#', 'sport/tennis/player1', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
    ['sport/#', 'sport', true],
    ['#', 'sport/tennis/player1', true],
    ['sport/tennis/#', 'sport/tennis', true],
    ['sport/tennis/+', 'sport/tennis/player1', true],
    ['sport/tennis/+', 'sport/tennis/player2', true],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
    ['sport/+', 'sport', false],
    ['sport/+', 'sport/', true],
    ['+/+', '/finance', true],
    ['/+', '/finance', true],
    ['+', '/finance', false],
    ['+/tennis/#', 'sport/tennis/player1', true],
    ['sport/+/player1', 'sport/tennis/player1', true],
    ['#', '$SYS/broker/clients', false],
    ['+/monitor/Clients', '$SYS/monitor/Clients', false],
    ['$SYS/#', '$SYS/broker/clients', true],
    ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
    ['+', '$SYS', false],
    ['a//b', 'a//b', true],
    ['a/+/b', 'a//b', true],
    ['a/#', 'a', true],
    ['a/#', 'ab', false],
    ['a/b', 'a/b/', false],
    ['ACCOUNTS', 'Accounts', false],
    ['Accounts payable', 'Accounts payable', true],
    ['/', '/', true],
    ['+/+', '/', true],
  ])('%s matches %s: %s', (filter, topic, expected) => {
    expect(topicFilterError(filter)).toBeUndefined();
    expect(topicNameError(topic)).toBeUndefined();
    expect(topicMatchesFilter(filter, topic)).toBe(expected);
    expect(TopicFilter.parse(filter).matches(topic)).toBe(expected);
  });

  it.each([
    ['sport/tennis#', '[MQTT-4.7.1-2]'],
    ['sport/tennis/#/ranking', '[MQTT-4.7.1-2]'],
    ['#/a', '[MQTT-4.7.1-2]'],
    ['##', '[MQTT-4.7.1-2]'],
    ['sport+', '[MQTT-4.7.1-3]'],
    ['+sport', '[MQTT-4.7.1-3]'],
    ['a/+b', '[MQTT-4.7.1-3]'],
    ['++', '[MQTT-4.7.1-3]'],
    ['', '[MQTT-4.7.3-1]'],
    ['a/\u0000/b', '[MQTT-4.7.3-2]'],
    ['é'.repeat(32768), '[MQTT-4.7.3-3]'],
  ])('the filter %j breaks %s', (filter, clause) => {
    expect(topicFilterRuleBroken(filter)).toContain(clause);
    expect(topicFilterError(filter)).toBe(`"${filter}": ${topicFilterRuleBroken(filter)}`);
    // A handler filter is held to the very same rules.
    expect(() => TopicFilter.parse(filter)).toThrow(clause);
  });

  it('accepts filters and names right at the 65535-byte limit', () => {
    expect(topicFilterRuleBroken('é'.repeat(32767) + 'x')).toBeUndefined();
    expect(topicNameError('x'.repeat(65535))).toBeUndefined();
    expect(topicNameError('x'.repeat(65536))).toContain('[MQTT-4.7.3-3]');
  });

  it.each([
    ['', '[MQTT-4.7.3-1]'],
    ['a/+', '[MQTT-4.7.1-1]'],
    ['a/#', '[MQTT-4.7.1-1]'],
    ['a\u0000', '[MQTT-4.7.3-2]'],
  ])('the topic name %j breaks %s', (name, clause) => {
    expect(topicNameError(name)).toContain(clause);
  });
});

describe('TopicFilter: named levels', () => {
  it('subscribes a :name level as + and reads it from a matching topic', () => {
    const filter = TopicFilter.parse('sensors/:deviceId/:kind/#');
    expect(filter.mqttFilter).toBe('sensors/+/+/#');
    expect(filter.paramNames).toEqual(['deviceId', 'kind']);
    expect(filter.matches('sensors/d1/temp/celsius')).toBe(true);
    expect({ ...filter.extractParams('sensors/d1/temp/celsius') }).toEqual({ deviceId: 'd1', kind: 'temp' });
    // '+' matches an empty level, and so does a named one.
    expect({ ...filter.extractParams('sensors//temp') }).toEqual({ deviceId: '', kind: 'temp' });
  });

  it('keeps a filter without named levels as written', () => {
    const filter = TopicFilter.parse('$SYS/broker/+');
    expect(filter.mqttFilter).toBe('$SYS/broker/+');
    expect(filter.hasParams).toBe(false);
    expect(filter.matches('$SYS/broker/uptime')).toBe(true);
  });

  it.each([
    ['a/:/b', "':' is not a valid named level"],
    ['a/:1x', "':1x' is not a valid named level"],
    ['a/:id-x', "':id-x' is not a valid named level"],
    ['a/:id/:id', "the named level ':id' appears twice"],
    [':id/#/x', '[MQTT-4.7.1-2]'],
  ])('refuses %j: %s', (pattern, message) => {
    expect(() => TopicFilter.parse(pattern)).toThrow(message);
  });

  it('treats a colon inside a level as an ordinary character', () => {
    const filter = TopicFilter.parse('urn:device/a:b');
    expect(filter.hasParams).toBe(false);
    expect(filter.matches('urn:device/a:b')).toBe(true);
  });
});

/**
 * The handler dispatcher (`lib/dispatch/mqtt-message.dispatcher.ts`) matches with qlobber set up as
 * Aedes' mqemitter is, then drops wildcard-first filters for '$' topics. `topicMatchesFilter` must
 * agree with it on every filter and topic: the generator draws both from a small alphabet of levels
 * so that matches are frequent and the edge cases (empty levels, '$', '#' as parent) come up.
 */
describe('topicMatchesFilter agrees with the qlobber matching of the dispatcher', () => {
  const LEVELS = ['a', 'b', '', '$x', 'a b', 'é'];

  function randomTopic(random: Random): string {
    const count = 1 + random.int(4);
    const levels: string[] = [];
    for (let i = 0; i < count; i++) levels.push(random.pick(LEVELS));
    // A topic name is at least one character long [MQTT-4.7.3-1].
    return levels.join('/') || 'a';
  }

  function randomFilter(random: Random): string {
    const count = 1 + random.int(4);
    const levels: string[] = [];
    for (let i = 0; i < count; i++) {
      const roll = random.int(10);
      levels.push(roll < 3 ? '+' : random.pick(LEVELS));
    }
    if (random.int(3) === 0) levels.push('#');
    return levels.join('/') || '+';
  }

  /** Half the time a topic made from the filter (wildcards filled in), so that matches are frequent. */
  function topicFor(filter: string, random: Random): string {
    if (random.int(2) === 0) return randomTopic(random);
    const levels: string[] = [];
    for (const level of filter.split('/')) {
      if (level === '#') for (let n = random.int(3); n > 0; n--) levels.push(random.pick(LEVELS));
      else levels.push(level === '+' ? random.pick(LEVELS) : level);
    }
    return levels.join('/') || 'a';
  }

  function dispatcherMatches(filter: string, topic: string): boolean {
    const matcher = new qlobber.Qlobber({ separator: '/', wildcard_one: '+', wildcard_some: '#', match_empty_levels: true });
    matcher.add(filter, filter);
    const first = filter.charCodeAt(0);
    const dollarRule = topic.startsWith('$') && (first === 43 || first === 35);
    return matcher.match(topic).length > 0 && !dollarRule;
  }

  it.each([1, 2, 3, 20261202])('agrees on 3000 random filter/topic pairs (seed %d)', (seed) => {
    const random = new Random(seed);
    let matched = 0;
    for (let i = 0; i < 3000; i++) {
      const filter = randomFilter(random);
      const topic = topicFor(filter, random);
      expect(topicFilterError(filter)).toBeUndefined();
      const expected = dispatcherMatches(filter, topic);
      if (topicMatchesFilter(filter, topic) !== expected) {
        throw new Error(`seed ${seed}, case ${i}: "${filter}" vs "${topic}": qlobber says ${expected}`);
      }
      if (expected) matched++;
    }
    // The generator must exercise both outcomes, or the agreement says nothing.
    expect(matched).toBeGreaterThan(600);
    expect(matched).toBeLessThan(2400);
  });

  it('agrees for named patterns, whose values are the levels at their positions', () => {
    const random = new Random(7);
    for (let i = 0; i < 2000; i++) {
      const mqttFilter = randomFilter(random);
      let n = 0;
      const pattern = mqttFilter
        .split('/')
        .map((level) => (level === '+' && random.int(2) === 0 ? `:p${n++}` : level))
        .join('/');
      const filter = TopicFilter.parse(pattern);
      expect(filter.mqttFilter).toBe(mqttFilter);
      const topic = topicFor(mqttFilter, random);
      expect(filter.matches(topic)).toBe(dispatcherMatches(mqttFilter, topic));
      if (!filter.matches(topic)) continue;
      const levels = topic.split('/');
      const params = filter.extractParams(topic);
      pattern.split('/').forEach((level, index) => {
        if (level.startsWith(':')) expect(params[level.slice(1)]).toBe(levels[index]);
      });
    }
  });
});
