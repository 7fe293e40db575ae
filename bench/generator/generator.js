// The load generator: a child process of the suite, one per measurement, never in a broker's process.
import { createRpc } from '../lib/rpc.js';
import * as workloads from './workloads.js';

const rpc = createRpc(process, {
  async run({ workload, params }) {
    const deadline = setTimeout(() => {
      process.stderr.write(`${workload} passed its deadline of ${params.deadlineMs} ms\n`);
      process.exit(3);
    }, params.deadlineMs);
    deadline.unref();
    try {
      return await workloads[workload](params, { mark: (name, data = {}) => rpc.call('mark', { name, ...data }) });
    } finally {
      clearTimeout(deadline);
    }
  },
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
rpc.notify('ready', { pid: process.pid });
