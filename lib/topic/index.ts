export { topicFilterError, topicFilterRuleBroken, topicMatchesFilter, topicNameError } from './topic-rules.js';
export { TopicFilter } from './topic-pattern.js';
