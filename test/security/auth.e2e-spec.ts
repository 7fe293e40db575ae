import 'reflect-metadata';
import { Injectable, Module, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  type MqttUpgradeRequest,
  Ctx,
  getMqttPrincipal,
  MqttConnectReturnCode,
  MqttContext,
  MqttService,
  MqttSubscribe,
  MqttWsModule,
  Payload,
  type MqttAuthPolicy,
  type MqttConnectAuthContext,
  type MqttPublishAuthContext,
  type MqttSubscribeAuthContext,
} from '../../lib/index.js';
import { startApp } from '../utils/app.js';
import { Collector } from '../utils/deferred.js';
import { TestClient } from '../utils/mqtt-client.js';
import { RawMqttSocket } from '../utils/raw-mqtt-socket.js';
import { connackCode } from './utils/connect.js';

interface User {
  id: string;
  admin: boolean;
}

/** The app's own service, in the app's own module: the policy must get it from DI. */
@Injectable()
class UsersService {
  private readonly tokens = new Map<string, User>([
    ['token-alice', { id: 'alice', admin: false }],
    ['token-bob', { id: 'bob', admin: false }],
    ['token-root', { id: 'root', admin: true }],
  ]);

  async findByToken(token: string | undefined): Promise<User | undefined> {
    await Promise.resolve();
    return token === undefined ? undefined : this.tokens.get(token);
  }
}

function cookie(request: MqttUpgradeRequest, name: string): string | undefined {
  const match = new RegExp(`(?:^|;\\s*)${name}=([^;]*)`).exec(request.headers.cookie ?? '');
  return match?.[1];
}

/** The recipes of docs/security.md: a token in the password or a session cookie; users/<id>/# namespaces. */
@Injectable()
class UsersPolicy implements MqttAuthPolicy<User> {
  static readonly seen = new Collector<{ clientId: string; remoteAddress: string | undefined; url: string | undefined }>();
  static readonly published: string[] = [];

  constructor(private readonly users: UsersService) {}

  async authenticate(context: MqttConnectAuthContext) {
    UsersPolicy.seen.push({ clientId: context.clientId, remoteAddress: context.remoteAddress, url: context.request!.url });
    if (context.username === 'crash') throw new Error('database down');
    if (context.username === 'banned') return MqttConnectReturnCode.NotAuthorized;
    const token = context.password?.toString() ?? cookie(context.request!, 'session');
    return (await this.users.findByToken(token)) ?? false;
  }

  authorizePublish({ topic, principal }: MqttPublishAuthContext<User>) {
    UsersPolicy.published.push(topic);
    if (topic === 'async/denied') return Promise.resolve(false);
    if (topic === 'throws') throw new Error('policy bug');
    return principal!.admin || topic.startsWith(`users/${principal!.id}/`) || topic === 'public/chat';
  }

  authorizeSubscribe({ topic, principal }: MqttSubscribeAuthContext<User>) {
    if (topic === 'throws/#') throw new Error('policy bug');
    if (topic === 'rejects/#') return Promise.reject(new Error('database down'));
    if (principal!.admin) return true;
    if (topic === 'public/#') return 0 as const;
    return topic.startsWith(`users/${principal!.id}/`);
  }

  authorizeForward({ topic, principal }: MqttPublishAuthContext<User>) {
    if (topic === 'public/chat/explode') throw new Error('policy bug');
    return !(topic === 'public/chat/secret' && !principal!.admin);
  }
}

@Module({ providers: [UsersService, UsersPolicy], exports: [UsersService] })
class UsersModule {}

const handled = new Collector<{ user: string | undefined; cookie: string | undefined }>();

@Injectable()
class Handlers {
  @MqttSubscribe('users/+/notes')
  onNote(@Payload() _note: unknown, @Ctx() context: MqttContext) {
    handled.push({ user: getMqttPrincipal<User>(context)?.id, cookie: context.request?.headers.cookie });
  }
}

describe('auth policy from dependency injection', () => {
  let app: INestApplication;
  let url: string;
  const clients: TestClient[] = [];
  const connect = async (password: string, clientId: string) => {
    const client = await TestClient.connect(url, { username: 'u', password, clientId });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    ({ app, url } = await startApp({
      imports: [UsersModule, MqttWsModule.forRoot({ auth: UsersPolicy })],
      providers: [Handlers],
    }));
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.end(true)));
    await app.close();
  });

  it('uses the app instance of a policy provider, with its injected services', () => {
    expect(app.get(UsersPolicy)).toBeInstanceOf(UsersPolicy);
  });

  it('answers CONNACK 4 to bad credentials, 5 when the policy says so, 3 when it throws; the right token connects', async () => {
    expect(await connackCode(url, { username: 'u', password: 'wrong', clientId: 'c-bad' })).toBe(4);
    expect(await connackCode(url, { clientId: 'c-none' })).toBe(4);
    expect(await connackCode(url, { username: 'banned', password: 'token-alice', clientId: 'c-banned' })).toBe(5);
    expect(await connackCode(url, { username: 'crash', password: 'x', clientId: 'c-crash' })).toBe(3);
    expect(await connackCode(url, { username: 'u', password: 'token-alice', clientId: 'c-good' })).toBe(0);
  });

  it('hands the upgrade request and remote address to authenticate: a session cookie authenticates', async () => {
    const code = await connackCode(`${url}?via=cookie`, { clientId: 'c-cookie', wsOptions: { headers: { cookie: 'a=1; session=token-bob' } } });
    expect(code).toBe(0);
    const seen = UsersPolicy.seen.items.find((item) => item.clientId === 'c-cookie');
    expect(seen).toEqual({ clientId: 'c-cookie', remoteAddress: '127.0.0.1', url: '/mqtt?via=cookie' });
  });

  it('keeps users in their namespace: foreign subscriptions get SUBACK 0x80, own ones are granted; a failing policy refuses', async () => {
    const raw = await RawMqttSocket.open(url);
    raw.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'alice-1', keepalive: 0, username: 'u', password: Buffer.from('token-alice') });
    await raw.waitForPackets(1);
    const filters = ['users/alice/#', 'users/bob/#', '#', 'throws/#', 'rejects/#'];
    raw.sendPacket({ cmd: 'subscribe', messageId: 1, subscriptions: filters.map((topic) => ({ topic, qos: 1 })) });
    const [, suback] = await raw.waitForPackets(2);
    expect(suback).toMatchObject({ cmd: 'suback', granted: [1, 128, 128, 128, 128] });
    await raw.close();
  });

  it('disconnects a client that publishes outside its namespace, and to $SYS/ even as admin', async () => {
    const alice = await connect('token-alice', 'alice-2');
    const closed = new Promise<void>((resolve) => alice.client.once('close', () => resolve()));
    alice.client.publish('users/bob/inbox', 'hi', { qos: 1 });
    await closed;

    const root = await connect('token-root', 'root-1');
    const rootClosed = new Promise<void>((resolve) => root.client.once('close', () => resolve()));
    root.client.publish('$SYS/fake/heartbeat', 'x', { qos: 1 });
    await rootClosed;
  });

  it('refuses when an async answer is false or the policy throws', async () => {
    for (const topic of ['async/denied', 'throws']) {
      const alice = await connect('token-alice', `alice-${topic}`);
      const closed = new Promise<void>((resolve) => alice.client.once('close', () => resolve()));
      alice.client.publish(topic, 'x', { qos: 1 });
      await closed;
    }
  });

  it('delivers what is allowed, downgrades the QoS it grants, and filters forwarding (a failing policy forwards nothing)', async () => {
    const bob = await connect('token-bob', 'bob-1');
    const root = await connect('token-root', 'root-2');
    await bob.subscribe('public/#', 1);
    await root.publish('public/chat/secret', 'for admins', { qos: 1 });
    await root.publish('public/chat/explode', 'x', { qos: 1 });
    await root.publish('public/chat', 'hello', { qos: 1 });
    const [message] = await bob.waitFor(1);
    expect(message.topic).toBe('public/chat');
    // Granted QoS 0: the QoS 1 message arrives at QoS 0.
    expect(message.packet.qos).toBe(0);
    expect(bob.received().map((m) => m.topic)).toEqual(['public/chat']);
  });

  it('limits come first: the policy never sees a topic longer than maxTopicLength', async () => {
    const alice = await connect('token-alice', 'alice-long');
    const closed = new Promise<void>((resolve) => alice.client.once('close', () => resolve()));
    const long = `users/alice/${'x'.repeat(1024)}`;
    alice.client.publish(long, 'x', { qos: 1 });
    await closed;
    expect(UsersPolicy.published).not.toContain(long);
  });

  it('gives handlers the principal and the upgrade request', async () => {
    const alice = await TestClient.connect(url, { username: 'u', password: 'token-alice', clientId: 'alice-h', wsOptions: { headers: { cookie: 'theme=dark' } } });
    clients.push(alice);
    await alice.publish('users/alice/notes', { text: 'x' }, { qos: 1 });
    expect((await handled.waitFor(1))[0]).toEqual({ user: 'alice', cookie: 'theme=dark' });
  });

  it('does not subject server-side publishing to client ACLs', async () => {
    const alice = await connect('token-alice', 'alice-srv');
    await alice.subscribe('users/alice/inbox', 1);
    await app.get(MqttService).publish('users/alice/inbox', 'from server', { qos: 1 });
    expect((await alice.waitFor(1))[0].payload.toString()).toBe('from server');
  });
});

describe('auth policy options', () => {
  @Injectable()
  class TokenPolicy implements MqttAuthPolicy {
    constructor(private readonly users: UsersService) {}
    async authenticate({ password }: MqttConnectAuthContext) {
      return (await this.users.findByToken(password?.toString())) !== undefined;
    }
  }

  const cases: [string, () => Parameters<typeof startApp>[0]][] = [
    ['forRoot({ auth: { useExisting } })', () => ({ imports: [MqttWsModule.forRoot({ auth: { useExisting: UsersPolicy } }), UsersModule] })],
    [
      'forRootAsync with imports and { useClass }',
      () => ({ imports: [MqttWsModule.forRootAsync({ imports: [UsersModule], useFactory: () => ({ auth: { useClass: TokenPolicy } }) })] }),
    ],
    [
      'forRootAsync with a factory building { useValue }',
      () => ({
        imports: [
          MqttWsModule.forRootAsync({
            imports: [UsersModule],
            inject: [UsersService],
            useFactory: (users: UsersService) => ({ auth: { useValue: new TokenPolicy(users) } }),
          }),
        ],
      }),
    ],
  ];

  it.each(cases)('%s', async (_name, metadata) => {
    const { app, url } = await startApp(metadata());
    try {
      expect(await connackCode(url, { username: 'u', password: 'nope', clientId: 'o-1' })).toBe(4);
      expect(await connackCode(url, { username: 'u', password: 'token-bob', clientId: 'o-2' })).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('fails at start-up on a useExisting token nobody provides, and on a malformed option', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [MqttWsModule.forRoot({ auth: { useExisting: 'NOPE' } })] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    // The broker exists by then: close the app so that its timers end.
    await expect(app.init()).rejects.toThrow(/no module provides/);
    await app.close();
    await expect(startApp({ imports: [MqttWsModule.forRoot({ auth: { use: 1 } as never })] })).rejects.toThrow(/option "auth"/);
  });

  it('keeps $SYS/ unpublishable without a policy', async () => {
    const { app, url } = await startApp({ imports: [MqttWsModule.forRoot({})] });
    try {
      const raw = await RawMqttSocket.open(url);
      await raw.connect('sys');
      raw.sendPacket({ cmd: 'publish', topic: '$SYS/x/heartbeat', payload: 'x', qos: 1, messageId: 1, retain: false, dup: false });
      await raw.closed;
    } finally {
      await app.close();
    }
  });
});
