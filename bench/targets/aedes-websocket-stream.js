// Bare Aedes bridged with `websocket-stream` or its fork `@httptoolkit/websocket-stream` (argv[2]).
// Both are loaded from the suite's private folder (bench/.deps), never from the package's own tree:
// websocket-stream brings ws@3, which has DoS advisories.
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import { Aedes } from 'aedes';
import { listenOnLoopback, serveTarget } from './host.js';

const [, , packageName, depsDir] = process.argv;
const websocketStream = createRequire(`${depsDir}/package.json`)(packageName);
const broker = await Aedes.createBroker();
const httpServer = createServer();
websocketStream.createServer({ server: httpServer }, broker.handle);
const port = await listenOnLoopback(httpServer);
serveTarget({ port, info: { transport: 'ws', path: '/mqtt' } });
