/**
 * Request/response over a Node IPC channel, in both directions: the suite asks a child to run a
 * workload, and the child asks the suite to take a sample at the edges of its measuring window.
 * `endpoint` is a ChildProcess (in the suite) or `process` (in a child).
 */
export function createRpc(endpoint, handlers = {}) {
  let nextId = 1;
  const pending = new Map();

  endpoint.on('message', async (message) => {
    if (!message || typeof message !== 'object') return;
    if (message.reply !== undefined) {
      const waiter = pending.get(message.reply);
      if (!waiter) return;
      pending.delete(message.reply);
      if (message.error) waiter.reject(new Error(message.error));
      else waiter.resolve(message.result);
      return;
    }
    if (message.call === undefined) return;
    const handler = handlers[message.method];
    if (message.call === null) {
      handler?.(message.args ?? {});
      return;
    }
    try {
      if (!handler) throw new Error(`no handler for ${message.method}`);
      const result = await handler(message.args ?? {});
      if (endpoint.connected) endpoint.send({ reply: message.call, result });
    } catch (error) {
      if (endpoint.connected) endpoint.send({ reply: message.call, error: error?.stack ?? String(error) });
    }
  });

  const failAll = () => {
    for (const waiter of pending.values()) waiter.reject(new Error('the process on the other side of the channel is gone'));
    pending.clear();
  };
  endpoint.on('disconnect', failAll);
  endpoint.on('exit', failAll);

  return {
    call(method, args) {
      if (!endpoint.connected) return Promise.reject(new Error(`cannot call ${method}: channel closed`));
      const call = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(call, { resolve, reject });
        endpoint.send({ call, method, args });
      });
    },
    /** Fire and forget, for progress lines. */
    notify(method, args) {
      if (endpoint.connected) endpoint.send({ call: null, method, args });
    },
  };
}
