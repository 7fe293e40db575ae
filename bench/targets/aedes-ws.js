// Bare Aedes on node:http + ws with createWebSocketStream: the pattern of Aedes' docs (docs/Examples.md).
import { createServer } from 'node:http';
import { Aedes } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { listenOnLoopback, serveTarget } from './host.js';

const broker = await Aedes.createBroker();
const httpServer = createServer();
const wss = new WebSocketServer({ server: httpServer });
wss.on('connection', (websocket, req) => broker.handle(createWebSocketStream(websocket), req));
const port = await listenOnLoopback(httpServer);
serveTarget({ port, info: { transport: 'ws', path: '/mqtt' } });
