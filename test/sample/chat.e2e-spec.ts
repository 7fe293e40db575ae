import { brokerOf } from '../utils/broker.js';
import { TestClient } from '../utils/mqtt-client.js';
import { connectWithCookie, joinRoom, signIn, startChat, type DemoUser, type RunningChat } from './chat-app.js';

const SUBACK_FAILURE = 128;

/** Sample 02's security model and features, checked with MQTT.js clients that carry the browser's session cookie. */
describe('sample 02: chat, over MQTT', () => {
  let chat: RunningChat;
  let clients: TestClient[];

  const json = (payload: Buffer) => JSON.parse(payload.toString());
  /** Signs `user` in, joins `rooms` over HTTP, and connects over MQTT with the session cookie. */
  const member = async (user: DemoUser, rooms: string[] = []) => {
    const cookie = await signIn(chat, user);
    for (const room of rooms) expect((await joinRoom(chat, cookie, room)).status).toBe(200);
    const client = await connectWithCookie(chat, user, cookie);
    clients.push(client);
    return { cookie, client };
  };
  const refusal = (user: string, cookie: string | undefined, clientId?: string) =>
    connectWithCookie(chat, user, cookie, clientId ? { clientId } : {}).then(
      (client) => {
        clients.push(client);
        return 'connected';
      },
      (error: { code?: number }) => error.code,
    );

  /** The SUBACK return codes, one per filter (MQTT.js rejects when any is 0x80; the packet says which). */
  const subackCodes = (client: TestClient, filters: string[]) =>
    client.subscribe(filters, 1).then(
      (granted) => granted.map(({ qos }) => qos),
      (error: { packet?: { granted?: number[] } }) => {
        if (!error.packet?.granted) throw error;
        return error.packet.granted;
      },
    );

  beforeEach(async () => {
    clients = [];
    chat = await startChat();
  });

  afterEach(async () => {
    await Promise.all(clients.map((client) => client.end(true)));
    await chat?.app.close();
  });

  it('refuses a connection without a valid session cookie (CONNACK 5), and a client id that is not the user\'s (CONNACK 2)', async () => {
    const cookie = await signIn(chat, 'alice');
    const forged = cookie.replace(/\.[^.]+$/, '.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');

    expect(await refusal('alice', undefined)).toBe(5);
    expect(await refusal('alice', forged)).toBe(5);
    expect(await refusal('alice', 'chat_session=not-a-jwt')).toBe(5);
    expect(await refusal('alice', cookie, 'bob-takeover')).toBe(2);
    expect(await refusal('alice', cookie)).toBe('connected');
  });

  it('answers SUBACK 0x80 to subscriptions in a room the user did not join, and to wildcards over rooms', async () => {
    const { client } = await member('alice', ['general']);

    const filters = {
      'chat/rooms/random/messages': SUBACK_FAILURE,
      'chat/rooms/random/history': SUBACK_FAILURE,
      'chat/rooms/random/presence/+': SUBACK_FAILURE,
      'chat/rooms/+/messages': SUBACK_FAILURE,
      'chat/rooms/general/#': SUBACK_FAILURE,
      'chat/#': SUBACK_FAILURE,
      '#': SUBACK_FAILURE,
      '$SYS/#': SUBACK_FAILURE,
      'chat/rooms/general/send': SUBACK_FAILURE,
      'chat/rooms/general/messages': 1,
      'chat/rooms/general/history': 1,
      'chat/rooms/general/presence/+': 1,
    };

    const codes = await subackCodes(client, Object.keys(filters));

    expect(Object.fromEntries(Object.keys(filters).map((filter, i) => [filter, codes[i]]))).toEqual(filters);
  });

  it('disconnects a user who publishes in a room they did not join', async () => {
    const { client } = await member('alice', ['general']);
    const closed = new Promise<void>((resolve) => client.client.once('close', () => resolve()));

    client.client.publish('chat/rooms/random/send', JSON.stringify({ text: 'let me in' }));

    await closed;
    expect(client.client.connected).toBe(false);
  });

  it('disconnects a member who publishes on the room\'s messages topic directly, to forge an author', async () => {
    const { client } = await member('alice', ['general']);
    const closed = new Promise<void>((resolve) => client.client.once('close', () => resolve()));

    client.client.publish('chat/rooms/general/messages', JSON.stringify({ id: 'x', user: 'bob', text: 'forged' }));

    await closed;
    expect(client.client.connected).toBe(false);
  });

  it('relays a message between two members who joined, with the author stamped by the server', async () => {
    const alice = await member('alice', ['general']);
    const bob = await member('bob', ['general']);
    await bob.client.subscribe('chat/rooms/general/messages', 1);

    await alice.client.publish('chat/rooms/general/send', { text: '  hello bob  ' }, { qos: 1 });

    const [message] = await bob.client.waitFor(1, 'chat/rooms/general/messages');
    expect(json(message.payload)).toEqual({
      id: expect.any(String),
      room: 'general',
      user: 'alice',
      text: 'hello bob',
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it('relays no invalid message: blank text, a claimed author, not JSON', async () => {
    const alice = await member('alice', ['general']);
    const bob = await member('bob', ['general']);
    await bob.client.subscribe('chat/rooms/general/messages', 1);

    // QoS 1: each PUBACK comes after the handler refused or relayed the message, in order.
    await alice.client.publish('chat/rooms/general/send', { text: '   ' }, { qos: 1 });
    await alice.client.publish('chat/rooms/general/send', { text: 'from bob, honest', user: 'bob' }, { qos: 1 });
    await alice.client.publish('chat/rooms/general/send', 'not json', { qos: 1 });
    await alice.client.publish('chat/rooms/general/send', { text: 'x'.repeat(501) }, { qos: 1 });
    await alice.client.publish('chat/rooms/general/send', { text: 'the valid one' }, { qos: 1 });

    const [first] = await bob.client.waitFor(1, 'chat/rooms/general/messages');
    expect(json(first.payload)).toMatchObject({ user: 'alice', text: 'the valid one' });
    expect(bob.client.received('chat/rooms/general/messages')).toHaveLength(1);
  });

  it('keeps a retained presence per member: online while connected, offline after, seen by a late subscriber', async () => {
    const alice = await member('alice', ['general']);
    const bob = await member('bob', ['general']);

    await bob.client.subscribe('chat/rooms/general/presence/+', 1);
    const retained = await bob.client.waitFor(2, undefined);
    expect(Object.fromEntries(retained.map(({ topic, payload, packet }) => [topic, [payload.toString(), packet.retain]]))).toEqual({
      'chat/rooms/general/presence/alice': ['online', true],
      'chat/rooms/general/presence/bob': ['online', true],
    });

    await alice.client.end();
    const [, offline] = await bob.client.waitFor(2, 'chat/rooms/general/presence/alice');
    expect(offline.payload.toString()).toBe('offline');

    const carol = await member('carol', ['general']);
    await carol.client.subscribe('chat/rooms/general/presence/+', 1);
    const seen = await carol.client.waitFor(3);
    expect(Object.fromEntries(seen.map(({ topic, payload }) => [topic.split('/').at(-1), payload.toString()]))).toEqual({
      alice: 'offline',
      bob: 'online',
      carol: 'online',
    });
  });

  it('counts a user with two connections online until both are closed', async () => {
    const cookie = await signIn(chat, 'alice');
    await joinRoom(chat, cookie, 'general');
    const firstTab = await connectWithCookie(chat, 'alice', cookie);
    const secondTab = await connectWithCookie(chat, 'alice', cookie);
    const bob = await member('bob', ['general']);
    clients.push(firstTab, secondTab);
    await bob.client.subscribe('chat/rooms/general/presence/alice', 1);
    await bob.client.waitFor(1, 'chat/rooms/general/presence/alice');

    const firstGone = new Promise<void>((resolve) =>
      brokerOf(chat.app).on('clientDisconnected', (client) => client.id === firstTab.client.options.clientId && resolve()),
    );
    await firstTab.end();
    await firstGone;
    // A fence: carol's presence is published after anything the server did about the first tab.
    await bob.client.subscribe('chat/rooms/general/presence/carol', 1);
    await joinRoom(chat, await signIn(chat, 'carol'), 'general');
    await bob.client.waitFor(1, 'chat/rooms/general/presence/carol');
    expect(bob.client.received('chat/rooms/general/presence/alice').map(({ payload }) => payload.toString())).toEqual(['online']);

    await secondTab.end();
    const [, offline] = await bob.client.waitFor(2, 'chat/rooms/general/presence/alice');
    expect(offline.payload.toString()).toBe('offline');
  });

  it('keeps the room\'s last 50 messages in a retained history that a new member reads on subscribe', async () => {
    const alice = await member('alice', ['general']);
    for (let i = 1; i <= 52; i++) await alice.client.publish('chat/rooms/general/send', { text: `message ${i}` }, { qos: 1 });

    const bob = await member('bob', ['general']);
    await bob.client.subscribe('chat/rooms/general/history', 1);

    const [history] = await bob.client.waitFor(1, 'chat/rooms/general/history');
    expect(history.packet.retain).toBe(true);
    const { messages } = json(history.payload);
    expect(messages).toHaveLength(50);
    expect(messages[0]).toMatchObject({ user: 'alice', text: 'message 3' });
    expect(messages[49]).toMatchObject({ user: 'alice', text: 'message 52' });
  });

  it('stops delivering a room to a member who left, at once, on the subscription made before', async () => {
    const alice = await member('alice', ['general', 'random']);
    const bob = await member('bob', ['general', 'random']);
    await bob.client.subscribe(['chat/rooms/general/messages', 'chat/rooms/random/messages'], 1);

    expect((await joinRoom(chat, bob.cookie, 'general', 'leave')).status).toBe(200);
    await alice.client.publish('chat/rooms/general/send', { text: 'bob is gone' }, { qos: 1 });
    // A fence: the server relays in order, so bob gets this one after the first had it been delivered.
    await alice.client.publish('chat/rooms/random/send', { text: 'bob is still here' }, { qos: 1 });

    const [fence] = await bob.client.waitFor(1, 'chat/rooms/random/messages');
    expect(json(fence.payload).text).toBe('bob is still here');
    expect(bob.client.received('chat/rooms/general/messages')).toEqual([]);
    expect(await subackCodes(bob.client, ['chat/rooms/general/messages'])).toEqual([SUBACK_FAILURE]);
  });

  it('answers 401 to room requests without a session and 404 to an unknown room', async () => {
    const cookie = await signIn(chat, 'alice');

    expect((await joinRoom(chat, '', 'general')).status).toBe(401);
    expect((await joinRoom(chat, cookie, 'nope')).status).toBe(404);
    expect((await fetch(`${chat.httpUrl}/api/rooms`)).status).toBe(401);
    const rooms = await (await fetch(`${chat.httpUrl}/api/rooms`, { headers: { cookie } })).json();
    expect(rooms).toEqual([
      { name: 'general', title: 'General', joined: false },
      { name: 'random', title: 'Random', joined: false },
      { name: 'ops', title: 'Ops', joined: false },
    ]);
  });

  it('sets the session as an HttpOnly, SameSite=Strict cookie, and refuses a wrong password', async () => {
    const response = await fetch(`${chat.httpUrl}/api/session`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: 'alice', password: 'wonderland' }),
    });
    expect(await response.json()).toEqual({ name: 'alice' });
    expect(response.headers.get('set-cookie')).toMatch(/^chat_session=[\w-]+\.[\w-]+\.[\w-]+; Path=\/; Max-Age=28800; HttpOnly; SameSite=Strict$/);

    const wrong = await fetch(`${chat.httpUrl}/api/session`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: 'alice', password: 'builder' }),
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
  });
});
