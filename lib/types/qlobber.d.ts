// qlobber ships no type declarations; this covers the part the dispatcher and the cluster emitter use.
declare module 'qlobber' {
  interface QlobberOptions {
    separator?: string;
    wildcard_one?: string;
    wildcard_some?: string;
    match_empty_levels?: boolean;
    max_words?: number;
    max_wildcard_somes?: number;
  }
  class Qlobber<V = unknown> {
    constructor(options?: QlobberOptions);
    add(topic: string, value: V): this;
    remove(topic: string, value?: V): this;
    match(topic: string): V[];
    clear(): this;
  }
  /** Stores only whether a filter is there: `test` says whether a topic matches any. */
  class QlobberTrue {
    constructor(options?: QlobberOptions);
    add(topic: string): this;
    remove(topic: string): this;
    test(topic: string): boolean;
  }
  const qlobber: { Qlobber: typeof Qlobber; QlobberTrue: typeof QlobberTrue };
  export default qlobber;
  export type { Qlobber, QlobberTrue };
}
