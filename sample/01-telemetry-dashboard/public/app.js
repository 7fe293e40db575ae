// The dashboard is one more MQTT client of the app's broker: it subscribes to what the devices and
// the server publish, and asks the server to switch a device's LED with an MQTT 5 request (response
// topic + correlation data); the answer is the device's acknowledgement. No build step: plain JS and
// the MQTT.js browser bundle.
/* global mqtt */

const HISTORY = 60;
const MAX_ALERTS = 20;

const devicesGrid = document.getElementById('devices');
const alertsList = document.getElementById('alerts');
const connection = document.getElementById('connection');
const template = document.getElementById('device-template');
const devices = new Map();

const REQUEST_TIMEOUT_MS = 5000;
const clientId = `dashboard-${Math.random().toString(16).slice(2, 10)}`;
/** Where this page's requests are answered; a pending request waits here by its correlation data. */
const responseTopic = `dashboard/${clientId}/responses`;
const pendingRequests = new Map();
let requestCounter = 0;

const client = mqtt.connect(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/mqtt`, {
  clientId,
  protocolVersion: 5,
  reconnectPeriod: 2000,
});

client.on('connect', () => {
  const filters = ['devices/+/telemetry', 'devices/+/status', 'devices/+/state', 'devices/+/alerts', responseTopic];
  client.subscribe(filters, { qos: 1 }, (error) => setConnection(error ? 'error' : 'live'));
});
client.on('reconnect', () => setConnection('connecting'));
client.on('offline', () => setConnection('offline'));

client.on('message', (topic, payload, packet) => {
  if (topic === responseTopic) return settleRequest(payload, packet.properties ?? {});
  const [root, id, kind] = topic.split('/');
  if (root !== 'devices' || !id) return;
  const text = payload.toString();
  if (kind === 'status') return showStatus(device(id), text);
  const message = parseJson(text);
  if (!message) return;
  if (kind === 'telemetry') showReading(device(id), message);
  else if (kind === 'state') showLed(device(id), message.led);
  else if (kind === 'alerts') showAlert(device(id), message);
});

// What the server already knows, for devices that are quiet right now.
fetch('api/devices')
  .then((response) => response.json())
  .then((snapshots) => {
    for (const { id, status, latest } of snapshots) {
      const entry = device(id);
      if (entry.status === undefined && status !== 'unknown') showStatus(entry, status);
      if (entry.history.length === 0 && latest) showReading(entry, latest);
    }
  })
  .catch(() => {});

function device(id) {
  let entry = devices.get(id);
  if (entry) return entry;
  const card = template.content.firstElementChild.cloneNode(true);
  card.dataset.device = id;
  card.querySelector('.device-id').textContent = id;
  entry = {
    id,
    card,
    history: [],
    led: 'off',
    status: undefined,
    el: (selector) => card.querySelector(selector),
  };
  entry.el('.led-toggle').addEventListener('click', () => switchLed(entry));
  devices.set(id, entry);
  const next = [...devicesGrid.children].find((other) => other.dataset.device.localeCompare(id) > 0);
  devicesGrid.insertBefore(card, next ?? null);
  document.getElementById('no-devices').hidden = true;
  return entry;
}

/** Asks the server to switch the LED; shows the device's acknowledgement or why it failed. */
async function switchLed(entry) {
  const led = entry.led === 'on' ? 'off' : 'on';
  const button = entry.el('.led-toggle');
  const started = performance.now();
  button.disabled = true;
  showCommand(entry, 'pending', `Asking ${entry.id} to turn its LED ${led}…`);
  try {
    const ack = await request(`devices/${entry.id}/led`, { led });
    showCommand(entry, 'ok', `${entry.id} acknowledged: LED ${ack.led} (${Math.round(performance.now() - started)} ms)`);
  } catch (error) {
    showCommand(entry, 'error', `Not switched: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

/**
 * MQTT 5 request/response: the request names this page's response topic and a correlation data the
 * answer carries back. An answer with the user property `error` is an error response.
 */
function request(topic, body) {
  const correlation = `${clientId}-${++requestCounter}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pendingRequests.delete(correlation);
      reject(new Error('no answer from the server'));
    }, REQUEST_TIMEOUT_MS);
    pendingRequests.set(correlation, { resolve, reject, timer });
    client.publish(topic, JSON.stringify(body), {
      qos: 1,
      properties: { responseTopic, correlationData: correlation, contentType: 'application/json' },
    });
  });
}

function settleRequest(payload, properties) {
  const correlation = properties.correlationData ? new TextDecoder().decode(properties.correlationData) : undefined;
  const pending = pendingRequests.get(correlation);
  if (!pending) return;
  pendingRequests.delete(correlation);
  clearTimeout(pending.timer);
  const body = parseJson(payload.toString()) ?? {};
  if (properties.userProperties?.error !== undefined) pending.reject(new Error(body.message ?? properties.userProperties.error));
  else pending.resolve(body);
}

function showCommand(entry, state, text) {
  const status = entry.el('.command-status');
  status.dataset.state = state;
  status.textContent = text;
}

function showReading(entry, { temperature, humidity }) {
  if (!Number.isFinite(temperature)) return;
  entry.el('.temperature').textContent = temperature.toFixed(1);
  entry.el('.humidity').textContent = Number.isFinite(humidity) ? humidity.toFixed(0) : '–';
  entry.history.push(temperature);
  if (entry.history.length > HISTORY) entry.history.shift();
  entry.el('.line').setAttribute('points', sparkline(entry.history));
  if (entry.threshold !== undefined && temperature <= entry.threshold) entry.card.classList.remove('hot');
}

function showStatus(entry, status) {
  entry.status = status;
  const pill = entry.el('.status');
  pill.textContent = status;
  pill.dataset.state = status;
}

function showLed(entry, led) {
  if (led !== 'on' && led !== 'off') return;
  entry.led = led;
  entry.el('.led-state').textContent = led;
  entry.el('.led-toggle').textContent = `Turn LED ${led === 'on' ? 'off' : 'on'}`;
  entry.card.classList.toggle('led-on', led === 'on');
}

function showAlert(entry, { temperature, threshold }) {
  entry.threshold = threshold;
  entry.card.classList.add('hot');
  const item = document.createElement('li');
  item.dataset.device = entry.id;
  const time = document.createElement('time');
  time.textContent = new Date().toLocaleTimeString('en-GB');
  const what = document.createElement('span');
  what.textContent = `${entry.id} reported ${Number(temperature).toFixed(1)} °C (threshold ${threshold} °C)`;
  item.append(time, what);
  alertsList.prepend(item);
  while (alertsList.children.length > MAX_ALERTS) alertsList.lastElementChild.remove();
  document.getElementById('no-alerts').hidden = true;
}

function setConnection(state) {
  connection.dataset.state = state;
  connection.textContent = { live: 'live', connecting: 'connecting…', offline: 'offline', error: 'error' }[state];
}

/** SVG polyline points for the values, scaled into the chart's 100 × 32 viewBox. */
function sparkline(values) {
  const low = Math.min(...values) - 1;
  const high = Math.max(...values) + 1;
  const step = 100 / (HISTORY - 1);
  const offset = (HISTORY - values.length) * step;
  return values
    .map((value, index) => `${(offset + index * step).toFixed(2)},${(30 - ((value - low) / (high - low)) * 28).toFixed(2)}`)
    .join(' ');
}

function parseJson(text) {
  try {
    const value = JSON.parse(text);
    return value && typeof value === 'object' ? value : undefined;
  } catch {
    return undefined;
  }
}
