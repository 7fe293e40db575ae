// The chat page. Signing in is HTTP (it sets an HttpOnly session cookie); everything live is MQTT
// over the app's own WebSocket, which the browser opens with that cookie. The page never sees
// the token. No build step: plain JS and the MQTT.js browser bundle.
/* global mqtt */

const $ = (id) => document.getElementById(id);
const state = { user: null, client: null, rooms: new Map(), current: null };

$('sign-in').addEventListener('submit', async (event) => {
  event.preventDefault();
  const response = await api('POST', 'api/session', { user: $('user').value.trim(), password: $('password').value });
  if (!response.ok) {
    $('sign-in-error').textContent = response.status === 401 ? 'Unknown user or wrong password' : `Sign-in failed (${response.status})`;
    return;
  }
  $('password').value = '';
  start((await response.json()).name);
});

$('sign-out').addEventListener('click', async () => {
  state.client?.end(true);
  await api('DELETE', 'api/session');
  location.reload();
});

$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('text').value.trim();
  if (!text || !state.current) return;
  state.client.publish(`chat/rooms/${state.current}/send`, JSON.stringify({ text }), { qos: 1 });
  $('text').value = '';
});

api('GET', 'api/session').then(async (response) => {
  if (response.ok) start((await response.json()).name);
  else show('sign-in-view');
});

async function start(user) {
  state.user = user;
  $('me').textContent = user;
  show('chat-view');
  const rooms = await (await api('GET', 'api/rooms')).json();
  for (const room of rooms) addRoom(room);

  // The cookie goes with the WebSocket handshake; the server checks it before CONNACK. The
  // client id must start with the user name (the server refuses others).
  const client = mqtt.connect(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/mqtt`, {
    clientId: `${user}-${Math.random().toString(16).slice(2, 10)}`,
    reconnectPeriod: 2000,
  });
  state.client = client;
  client.on('connect', () => {
    setConnection('live');
    for (const room of state.rooms.values()) if (room.joined) subscribe(room);
  });
  client.on('reconnect', () => setConnection('connecting'));
  client.on('offline', () => setConnection('offline'));
  client.on('error', () => setConnection('error'));
  client.on('message', onMessage);

  const first = [...state.rooms.values()].find((room) => room.joined);
  if (first) select(first.name);
}

function onMessage(topic, payload) {
  const [, , name, kind, user] = topic.split('/');
  const room = state.rooms.get(name);
  if (!room) return;
  const text = payload.toString();
  if (kind === 'presence') {
    if (text === '') room.presence.delete(user);
    else room.presence.set(user, text);
    if (name === state.current) renderPresence(room);
    return;
  }
  const body = parseJson(text);
  if (kind === 'history' && Array.isArray(body?.messages)) body.messages.forEach((message) => addMessage(room, message));
  else if (kind === 'messages' && body) addMessage(room, body, true);
}

function addRoom({ name, title, joined }) {
  const el = $('room-template').content.firstElementChild.cloneNode(true);
  const room = { name, title, joined, el, messages: new Map(), presence: new Map(), unread: 0 };
  el.dataset.room = name;
  el.dataset.joined = String(joined);
  el.querySelector('.title').textContent = title;
  el.querySelector('.open').addEventListener('click', () => room.joined && select(name));
  el.querySelector('.join').addEventListener('click', () => join(room));
  el.querySelector('.leave').addEventListener('click', () => leave(room));
  state.rooms.set(name, room);
  $('rooms').append(el);
}

async function join(room) {
  const response = await api('POST', `api/rooms/${room.name}/join`);
  if (!response.ok) return;
  // The server recorded the membership before answering, so the broker now grants the subscriptions.
  setJoined(room, true);
  subscribe(room);
  select(room.name);
}

async function leave(room) {
  const response = await api('POST', `api/rooms/${room.name}/leave`);
  if (!response.ok) return;
  state.client.unsubscribe(filters(room));
  setJoined(room, false);
  room.messages.clear();
  room.presence.clear();
  if (state.current === room.name) {
    const next = [...state.rooms.values()].find((other) => other.joined);
    next ? select(next.name) : select(null);
  }
}

function setJoined(room, joined) {
  room.joined = joined;
  room.el.dataset.joined = String(joined);
}

function filters(room) {
  return [`chat/rooms/${room.name}/history`, `chat/rooms/${room.name}/messages`, `chat/rooms/${room.name}/presence/+`];
}

function subscribe(room) {
  state.client.subscribe(filters(room), { qos: 1 });
}

function select(name) {
  state.current = name;
  const room = name ? state.rooms.get(name) : null;
  for (const other of state.rooms.values()) other.el.classList.toggle('current', other.name === name);
  $('room-title').textContent = room ? `# ${room.title}` : 'Join a room';
  $('composer').hidden = !room;
  $('messages').replaceChildren();
  $('presence').replaceChildren();
  if (!room) return;
  room.unread = 0;
  renderUnread(room);
  for (const message of room.messages.values()) $('messages').append(messageItem(message));
  scrollToEnd();
  renderPresence(room);
  $('text').focus();
}

function addMessage(room, message, live = false) {
  if (typeof message.id !== 'string' || room.messages.has(message.id)) return; // history and live messages overlap
  room.messages.set(message.id, message);
  if (room.name === state.current) {
    $('messages').append(messageItem(message));
    scrollToEnd();
  } else if (live) {
    room.unread += 1;
    renderUnread(room);
  }
}

function messageItem({ id, user, text, at }) {
  const li = $('message-template').content.firstElementChild.cloneNode(true);
  li.dataset.id = id;
  li.dataset.user = user;
  li.classList.toggle('mine', user === state.user);
  li.querySelector('.user').textContent = user;
  const time = li.querySelector('time');
  time.dateTime = at;
  time.textContent = new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  li.querySelector('.text').textContent = text;
  return li;
}

function renderPresence(room) {
  const entries = [...room.presence].sort(([a, sa], [b, sb]) => (sa === sb ? a.localeCompare(b) : sa === 'online' ? -1 : 1));
  $('presence').replaceChildren(
    ...entries.map(([user, status]) => {
      const li = document.createElement('li');
      li.dataset.user = user;
      li.dataset.status = status;
      li.textContent = user === state.user ? `${user} (you)` : user;
      return li;
    }),
  );
}

function renderUnread(room) {
  const badge = room.el.querySelector('.unread');
  badge.hidden = room.unread === 0;
  badge.textContent = String(room.unread);
}

function scrollToEnd() {
  const list = $('messages');
  list.scrollTop = list.scrollHeight;
}

function setConnection(value) {
  $('connection').dataset.state = value;
  $('connection').textContent = value;
}

function show(view) {
  $('sign-in-view').hidden = view !== 'sign-in-view';
  $('chat-view').hidden = view !== 'chat-view';
  $('account').hidden = view !== 'chat-view';
  if (view === 'sign-in-view') $('user').focus();
}

function api(method, path, body) {
  return fetch(path, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
