import { spawnSync } from 'node:child_process';
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { forkChild, stop } from './processes.js';
import { redisCommandCalls, redisServerMissing, startRedisServer } from './redis-server.js';

/**
 * What the suite measures. A target starts in its own processes and resolves to
 * { endpoint, processes: [{ role, pid }], control, handlers?, stop() }: `control` frees memory before
 * an RSS reading, `handlers` (dispatch targets) counts and times what the handler saw.
 */

// BENCH_CPU_PROF=<dir> writes a V8 CPU profile of every Node target into <dir> (open in Chrome DevTools);
// BENCH_NODE_FLAGS adds Node/V8 flags to every Node target (say `--max-semi-space-size=8`, to try a GC setting).
const NODE_FLAGS = [
  '--expose-gc',
  ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
  ...(process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ').filter(Boolean) : []),
];

function nodeTarget(script, args = []) {
  return async ({ benchDir }) => {
    const { child, rpc, info } = await forkChild(join(benchDir, 'targets', script), { args, execArgv: NODE_FLAGS });
    return {
      endpoint: { port: info.port, transport: info.transport, path: info.path ?? '/mqtt' },
      processes: [{ role: 'broker', pid: info.pid }],
      control: rpc,
      // targets/window-probe.js: the process reads its own CPU, event-loop delay and GC pauses over the window.
      probe: true,
      stop: () => stop(child),
    };
  };
}

async function startMosquitto({ benchDir }) {
  const { child, rpc, info } = await forkChild(join(benchDir, 'targets', 'mosquitto.js'));
  return {
    endpoint: { port: info.port, transport: 'ws', path: '/mqtt' },
    tcpPort: info.tcpPort,
    processes: [{ role: 'broker', pid: info.pid }],
    control: rpc,
    stop: () => stop(child),
  };
}

async function startMicroservicesOnMosquitto(context) {
  const mosquitto = await startMosquitto(context);
  try {
    const { child, rpc, info } = await forkChild(join(context.benchDir, 'targets', 'nest-microservice.js'), {
      args: [String(mosquitto.tcpPort)],
      execArgv: NODE_FLAGS,
    });
    return {
      endpoint: mosquitto.endpoint,
      processes: [...mosquitto.processes, { role: 'app', pid: info.pid }],
      control: mosquitto.control,
      handlers: rpc,
      stop: () => Promise.all([stop(child), mosquitto.stop()]),
    };
  } catch (error) {
    await mosquitto.stop();
    throw error;
  }
}

async function startLibraryWithHandler(context) {
  const target = await nodeTarget('nest-mqtt-ws.js', ['--handler'])(context);
  return { ...target, handlers: target.control };
}

/**
 * The library on a private redis-server: one instance, or two with the publishers on the first
 * (`endpoint`) and the subscriber on the second (`subscriberEndpoint`), so that every message crosses
 * Redis pub/sub. The instances are stopped before Redis, which they would otherwise wait for.
 */
function startLibraryOnRedis(instances) {
  return async ({ benchDir }) => {
    const redis = await startRedisServer();
    const script = join(benchDir, 'targets', 'nest-mqtt-ws.js');
    const starts = await Promise.allSettled(
      Array.from({ length: instances }, () => forkChild(script, { args: [`--redis=${redis.url}`], execArgv: NODE_FLAGS })),
    );
    const children = starts.filter((s) => s.status === 'fulfilled').map((s) => s.value);
    const stopAll = async () => {
      await Promise.all(children.map(({ child }) => stop(child)));
      await redis.stop();
    };
    const failed = starts.find((s) => s.status === 'rejected');
    if (failed) {
      await stopAll();
      throw failed.reason;
    }
    const endpointOf = ({ info }) => ({ port: info.port, transport: info.transport, path: info.path ?? '/mqtt' });
    return {
      endpoint: endpointOf(children[0]),
      subscriberEndpoint: endpointOf(children[children.length - 1]),
      // Every instance, for the fan-out that spreads its subscribers over them.
      endpoints: children.map(endpointOf),
      redisCommands: () => redisCommandCalls(redis.url),
      processes: [
        ...children.map(({ info }, i) => ({ role: i === 0 ? 'broker' : i === 1 ? 'broker-b' : `broker-${String.fromCharCode(97 + i)}`, pid: info.pid })),
        { role: 'redis', pid: redis.pid },
      ],
      control: children[0].rpc,
      stop: stopAll,
    };
  };
}

const libraryBuilt = ({ rootDir }) => (existsSync(join(rootDir, 'dist', 'index.js')) ? null : 'dist/index.js is missing: run `npm run build`');
const mosquittoInstalled = () =>
  spawnSync('mosquitto', ['-h'], { stdio: 'ignore' }).error ? '`mosquitto` is not installed (apt-get install -y mosquitto)' : null;
const privatePackage = (name) => ({ deps }) => (deps.available[name] ? null : `${name} is not available (${deps.note ?? 'not installed'})`);

/** The brokers, for fan-in, fan-out, latency and connections. `id`s are the report's column keys. */
export const BROKER_TARGETS = [
  {
    id: 'library',
    name: 'nestjs-mqtt-ws',
    description: 'this library in a minimal Nest app (Express), `MqttWsModule.forRoot({ path: \'/mqtt\' })`',
    unavailable: libraryBuilt,
    start: nodeTarget('nest-mqtt-ws.js'),
  },
  {
    id: 'aedes-ws',
    name: 'Aedes + ws stream',
    description: 'bare Aedes on `node:http` + `ws` with `createWebSocketStream` (the pattern of Aedes\' docs)',
    start: nodeTarget('aedes-ws.js'),
  },
  {
    id: 'aedes-websocket-stream',
    name: 'Aedes + websocket-stream',
    description: 'bare Aedes bridged with `websocket-stream` 5 (ws 3)',
    unavailable: privatePackage('websocket-stream'),
    start: (context) => nodeTarget('aedes-websocket-stream.js', ['websocket-stream', context.deps.dir])(context),
  },
  {
    id: 'aedes-httptoolkit',
    name: 'Aedes + @httptoolkit/websocket-stream',
    description: 'bare Aedes bridged with `@httptoolkit/websocket-stream` 6 (ws 8), the maintained fork',
    unavailable: privatePackage('@httptoolkit/websocket-stream'),
    start: (context) => nodeTarget('aedes-websocket-stream.js', ['@httptoolkit/websocket-stream', context.deps.dir])(context),
  },
  {
    id: 'aedes-tcp',
    name: 'Aedes on TCP',
    description: 'bare Aedes on plain TCP, `net.createServer(broker.handle)`: the ceiling for an Aedes broker',
    start: nodeTarget('aedes-tcp.js'),
  },
  {
    id: 'node-floor',
    name: 'Node floor (bare relay, TCP)',
    description: 'no broker: a bare MQTT relay on plain TCP (bench/targets/node-floor.js), the floor of any broker written for Node; latency scenarios only',
    workloads: ['latency'],
    start: nodeTarget('node-floor.js'),
  },
  {
    id: 'mosquitto',
    name: 'Mosquitto (WebSocket)',
    description: 'Mosquitto\'s WebSocket listener (libwebsockets)',
    unavailable: mosquittoInstalled,
    start: startMosquitto,
  },
];

/** The two ways of running application code on a message, for handler dispatch. */
export const DISPATCH_TARGETS = [
  {
    id: 'library-handler',
    name: 'nestjs-mqtt-ws @MqttSubscribe',
    description: 'this library with one `@MqttSubscribe(\'bench/+\')` handler taking `@Payload()` (JSON), in process',
    unavailable: libraryBuilt,
    start: startLibraryWithHandler,
  },
  {
    id: 'microservices',
    name: '@nestjs/microservices via Mosquitto',
    description: '`@nestjs/microservices` MQTT transport, one `@EventPattern(\'bench/+\')` handler, consuming from Mosquitto over TCP; clients publish to Mosquitto\'s WebSocket listener',
    unavailable: mosquittoInstalled,
    start: startMicroservicesOnMosquitto,
  },
];

/**
 * Scale-out (issue 5): the library on Redis against the same library in memory (the `library`
 * target above, measured again in these scenarios so that the three share their rounds).
 */
export const CLUSTER_TARGETS = [
  BROKER_TARGETS[0],
  {
    id: 'library-redis',
    name: 'nestjs-mqtt-ws on Redis',
    description: 'this library with `redis: { url }`, one instance on a private `redis-server` (no persistence files)',
    unavailable: libraryBuilt,
    start: startLibraryOnRedis(1),
  },
  {
    id: 'library-redis-2',
    name: 'nestjs-mqtt-ws × 2 on Redis (A → B)',
    description:
      'two instances of this library on the same private `redis-server`, publishers connected to instance A and the subscriber to instance B: every message crosses Redis pub/sub',
    unavailable: libraryBuilt,
    start: startLibraryOnRedis(2),
  },
  {
    id: 'library-redis-3',
    name: 'nestjs-mqtt-ws × 3 on Redis',
    description:
      'three instances on the same private `redis-server`: fan-in with the publishers on A and the subscriber on C (B has no subscriber: it only receives and skips the batches), fan-out with the subscribers spread over A, B and C',
    unavailable: libraryBuilt,
    start: startLibraryOnRedis(3),
  },
];

/** Issue 14: the cost of `metrics: true`, the library with metrics off (the targets above) and on. */
export const METRICS_TARGETS = [
  BROKER_TARGETS[0],
  {
    id: 'library-metrics',
    name: 'nestjs-mqtt-ws, metrics on',
    description: 'this library with `metrics: true` (prom-client), the registry scraped every second',
    unavailable: libraryBuilt,
    start: nodeTarget('nest-mqtt-ws.js', ['--metrics']),
  },
];
export const METRICS_DISPATCH_TARGETS = [
  DISPATCH_TARGETS[0],
  {
    id: 'library-handler-metrics',
    name: 'nestjs-mqtt-ws @MqttSubscribe, metrics on',
    description: 'the handler target with `metrics: true`: handler durations observed in a histogram',
    unavailable: libraryBuilt,
    start: async (context) => {
      const target = await nodeTarget('nest-mqtt-ws.js', ['--handler', '--metrics'])(context);
      return { ...target, handlers: target.control };
    },
  },
];

/** The targets each scenario group runs against. */
export const TARGET_GROUPS = {
  broker: BROKER_TARGETS,
  dispatch: DISPATCH_TARGETS,
  cluster: CLUSTER_TARGETS,
  metrics: METRICS_TARGETS,
  'metrics-dispatch': METRICS_DISPATCH_TARGETS,
  // MQTT 5 request/response (issue 13): the library's handler answers; no other target has the feature.
  'request-response': [
    {
      id: 'library-responder',
      name: 'nestjs-mqtt-ws request/response',
      description: "this library with one `@MqttSubscribe('rr/+', { payloadFormat: 'buffer' })` handler returning the request's payload, which the module publishes to the response topic with the correlation data",
      unavailable: libraryBuilt,
      start: nodeTarget('nest-mqtt-ws.js', ['--responder']),
    },
  ],
};

/** Every target once (the `library` target is in two groups), for --help and the report's list. */
export const ALL_TARGETS = [...new Set(Object.values(TARGET_GROUPS).flat())];

/** Why a whole group cannot run on this machine, or null. */
export function groupUnavailable(group) {
  return group === 'cluster' ? redisServerMissing() : null;
}

/**
 * Issue 16: what each Nest feature costs on the dispatch path, the handler target (no enhancers)
 * beside the same handler behind a ValidationPipe (class-validator DTO) and behind a guard and an
 * interceptor. Its own group, so that the three share their rounds.
 */
const handlerWith = (enhancers) => async (context) => {
  const target = await nodeTarget('nest-mqtt-ws.js', ['--handler', `--enhancers=${enhancers}`])(context);
  return { ...target, handlers: target.control };
};
export const FEATURE_TARGETS = [
  DISPATCH_TARGETS[0],
  {
    id: 'library-handler-validation',
    name: 'nestjs-mqtt-ws @MqttSubscribe + ValidationPipe',
    description: 'the handler target with `@UsePipes(new ValidationPipe({ transform: true }))` on a class-validator DTO of the payload (4 rules)',
    unavailable: libraryBuilt,
    start: handlerWith('validation'),
  },
  {
    id: 'library-handler-guard-interceptor',
    name: 'nestjs-mqtt-ws @MqttSubscribe + guard + interceptor',
    description: 'the handler target with `@UseGuards` (reads the client id from the MQTT context) and `@UseInterceptors` (an rxjs `tap` after the handler)',
    unavailable: libraryBuilt,
    start: handlerWith('guard-interceptor'),
  },
];
TARGET_GROUPS.features = FEATURE_TARGETS;
ALL_TARGETS.push(...FEATURE_TARGETS.slice(1));

/**
 * Before and after in one run: BENCH_BASE=<dir> names a built checkout of another commit (say
 * `git archive <commit> | tar -x -C <dir>`, node_modules linked, `npx tsc -p tsconfig.build.json`),
 * and adds its library beside this one, `<id>-base`, to the library's groups. The target scripts are
 * this checkout's, copied into <dir>, so that only the library differs.
 */
const BASE_DIR = process.env.BENCH_BASE;
if (BASE_DIR) {
  const base = (target, args) => ({
    id: `${target.id}-base`,
    name: `${target.name} (base)`,
    description: `${target.description}, built from ${BASE_DIR}`,
    unavailable: () => (existsSync(join(BASE_DIR, 'dist', 'index.js')) ? null : `${BASE_DIR}/dist/index.js is missing`),
    start: async (context) => {
      const copy = join(BASE_DIR, 'bench-current');
      cpSync(context.benchDir, copy, { recursive: true, filter: (path) => !path.includes('/results') && !path.includes('/.deps') });
      const instance = await nodeTarget('nest-mqtt-ws.js', args)({ ...context, benchDir: copy });
      return args.includes('--handler') ? { ...instance, handlers: instance.control } : instance;
    },
  });
  const pairs = [
    ['broker', BROKER_TARGETS[0], []],
    ['metrics', METRICS_TARGETS[1], ['--metrics']],
    ['dispatch', DISPATCH_TARGETS[0], ['--handler']],
    ['metrics-dispatch', METRICS_DISPATCH_TARGETS[1], ['--handler', '--metrics']],
    ['features', DISPATCH_TARGETS[0], ['--handler']],
  ];
  for (const [group, target, args] of pairs) {
    const added = ALL_TARGETS.find((t) => t.id === `${target.id}-base`) ?? base(target, args);
    TARGET_GROUPS[group].push(added);
    if (!ALL_TARGETS.includes(added)) ALL_TARGETS.push(added);
  }
}
