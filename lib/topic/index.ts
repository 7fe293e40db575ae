export { topicFilterError, topicMatchesFilter, topicNameError } from './topic-rules.js';
export { TopicFilter } from './topic-pattern.js';
