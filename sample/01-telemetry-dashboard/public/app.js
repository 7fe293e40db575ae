// The dashboard is one more MQTT client of the app's broker: it subscribes to what the devices and
// the server publish, and publishes commands. No build step: plain JS and the MQTT.js browser bundle.
/* global mqtt */

const HISTORY = 60;
const MAX_ALERTS = 20;

const devicesGrid = document.getElementById('devices');
const alertsList = document.getElementById('alerts');
const connection = document.getElementById('connection');
const template = document.getElementById('device-template');
const devices = new Map();

const client = mqtt.connect(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/mqtt`, {
  clientId: `dashboard-${Math.random().toString(16).slice(2, 10)}`,
  reconnectPeriod: 2000,
});

client.on('connect', () => {
  const filters = ['devices/+/telemetry', 'devices/+/status', 'devices/+/state', 'devices/+/alerts'];
  client.subscribe(filters, { qos: 1 }, (error) => setConnection(error ? 'error' : 'live'));
});
client.on('reconnect', () => setConnection('connecting'));
client.on('offline', () => setConnection('offline'));

client.on('message', (topic, payload) => {
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
  entry.el('.led-toggle').addEventListener('click', () => {
    const led = entry.led === 'on' ? 'off' : 'on';
    client.publish(`devices/${id}/commands`, JSON.stringify({ led }), { qos: 1 });
  });
  devices.set(id, entry);
  const next = [...devicesGrid.children].find((other) => other.dataset.device.localeCompare(id) > 0);
  devicesGrid.insertBefore(card, next ?? null);
  document.getElementById('no-devices').hidden = true;
  return entry;
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
