// Bare Aedes on plain TCP: the ceiling for an Aedes broker, and the reference of the budgets.
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import { listenOnLoopback, serveTarget } from './host.js';

const broker = await Aedes.createBroker();
// Nagle off, as the HTTP servers of the WebSocket targets have it (Node's http default), so that
// latency compares transports and not socket options.
const server = createServer({ noDelay: true }, broker.handle);
const port = await listenOnLoopback(server);
serveTarget({ port, info: { transport: 'tcp' } });
