#!/usr/bin/env node
// Checks that each protection has a test that fails without it: for each entry, disables the
// protection in lib/ (one search/replace at a time), builds, runs the spec it names, and expects
// a failure; then restores the file with git. It edits lib/, so it refuses to run anywhere but a
// linked git worktree, never in a tree where others work:
//
//   git worktree add /tmp/verify HEAD && ln -s "$PWD/node_modules" /tmp/verify/node_modules
//   node test/security/verify-protections.mjs /tmp/verify [name-regexp]
//   git worktree remove --force /tmp/verify
//
// A search string that is no longer found fails the run: the list must follow the code. A check
// is disabled with `&& Number.isNaN(0)` (or forced with `|| !Number.isNaN(0)`), which the compiler
// does not see through, so it reports no dead code.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const LISTENER = 'test/security/listener.e2e-spec.ts';
const PER_ADDRESS = 'test/security/connections-per-address.e2e-spec.ts';
const AUTH = 'test/security/auth.e2e-spec.ts';
const BAD_INPUT = 'test/security/bad-input.e2e-spec.ts';
const SLOW = 'test/security/slow-consumer.e2e-spec.ts';
const QUEUE = 'test/security/offline-queue.e2e-spec.ts';

const GUARD = 'lib/security/handshake-guard.ts';
const LIMITS = 'lib/security/mqtt-broker.limits.ts';
const HOOKS = 'lib/security/mqtt-auth.hooks.ts';
const VALIDATOR = 'lib/security/mqtt-security-options.validator.ts';
const FACTORY = 'lib/broker/mqtt-broker.factory.ts';
const PROXIES = 'lib/security/trusted-proxies.ts';
const FRAMES = 'lib/transport/websocket-frame-reader.ts';
/** The factory without one Aedes option: Aedes then uses its own default. */
const withoutAedesOption = (option) => ({
  file: FACTORY,
  search: '  for (const key of BROKER_OPTIONS) {\n',
  replace: `  for (const key of BROKER_OPTIONS) {\n    if (key === '${option}') continue;\n`,
});
/** The validator without the check of one option. */
const unvalidated = (name, search, replace, spec = LISTENER) => ({ name: `validation: ${name}`, edits: [{ file: VALIDATOR, search, replace }], spec, test: 'names the' });

export const PROTECTIONS = [
  // The listener.
  { name: 'allowedOrigins (403)', edits: [{ file: GUARD, search: 'if (origin !== undefined && !this.isAllowedOrigin(origin, request))', replace: 'if (origin !== undefined && !this.isAllowedOrigin(origin, request) && Number.isNaN(0))' }], spec: LISTENER, test: 'origin' },
  { name: 'maxConnections (503)', edits: [{ file: GUARD, search: 'if (this.maxConnections > 0 && connectionCount >= this.maxConnections)', replace: 'if (this.maxConnections > 0 && connectionCount >= this.maxConnections && Number.isNaN(0))' }], spec: LISTENER, test: 'maxConnections' },
  { name: 'maxConnectionsPerIp (429)', edits: [{ file: GUARD, search: 'if (open >= this.maxConnectionsPerIp)', replace: 'if (open >= this.maxConnectionsPerIp && Number.isNaN(0))' }], spec: PER_ADDRESS },
  { name: 'maxConnectionsPerIp: released when the socket closes', edits: [{ file: 'lib/security/connections-per-address.ts', search: "socket.once('close', () => this.remove(address));", replace: '' }], spec: PER_ADDRESS },
  { name: 'maxConnectionsPerIp: the address behind trusted proxies', edits: [{ file: GUARD, search: 'this.proxies.connectionDetails(request).ipAddress', replace: 'request.socket.remoteAddress' }], spec: PER_ADDRESS },
  { name: 'subprotocol required (400)', edits: [{ file: 'lib/transport/mqtt-websocket.server.ts', search: '(protocol === null || (protocol === false && !this.options.allowMissingSubprotocol) ? SUBPROTOCOL_REQUIRED : undefined)', replace: 'undefined' }], spec: BAD_INPUT, test: 'subprotocol' },
  { name: 'maxPayload (1009)', edits: [{ file: FRAMES, search: 'if (this.messageLength > this.maxMessage)', replace: 'if (this.messageLength > this.maxMessage && Number.isNaN(0))' }], spec: LISTENER, test: 'maxPayload' },
  {
    name: 'text frames (1003)',
    edits: [
      { file: FRAMES, search: 'if (opcode === Opcode.Text) return', replace: 'if (opcode === Opcode.Text && Number.isNaN(0)) return' },
      { file: FRAMES, search: 'if (opcode === Opcode.Binary) {', replace: 'if (opcode === Opcode.Binary || opcode === Opcode.Text) {' },
    ],
    spec: BAD_INPUT,
    test: 'text frames',
  },
  { name: 'trustedProxies: X-Forwarded-For only from a trusted peer', edits: [{ file: PROXIES, search: '!this.empty && address !== undefined && this.trusts(address)', replace: 'address !== undefined' }], spec: LISTENER, test: 'X-Forwarded-For' },
  { name: 'trustedProxies: stop at the first untrusted hop', edits: [{ file: PROXIES, search: 'if (!this.trusts(hop)) break;', replace: '' }], spec: LISTENER, test: 'X-Forwarded-For' },
  { name: 'trustedProxies: stop at a hop that is not an IP', edits: [{ file: PROXIES, search: 'if (hop === undefined || isIP(hop) === 0) break;', replace: 'if (hop === undefined) break;' }], spec: LISTENER, test: 'X-Forwarded-For' },
  // Limits on the broker.
  { name: 'maxPacketSize', edits: [{ file: LIMITS, search: 'if (this.packet.length <= this[MAX_PACKET_SIZE]) return true;', replace: 'return true;' }], spec: LISTENER, test: 'maxPacketSize' },
  { name: 'maxPacketSize (bad input: largest remaining length)', edits: [{ file: LIMITS, search: 'if (this.packet.length <= this[MAX_PACKET_SIZE]) return true;', replace: 'return true;' }], spec: BAD_INPUT, test: 'packet length larger' },
  { name: 'connectTimeout', edits: [withoutAedesOption('connectTimeout')], spec: LISTENER, test: 'connectTimeout' },
  { name: 'connectTimeout (bad input: truncated CONNECT, silent client)', edits: [withoutAedesOption('connectTimeout')], spec: BAD_INPUT, test: 'truncated CONNECT|never speaks' },
  { name: 'keepaliveLimit', edits: [withoutAedesOption('keepaliveLimit')], spec: LISTENER, test: 'keepaliveLimit' },
  { name: 'maxTopicLength: PUBLISH', edits: [{ file: LIMITS, search: 'if (packet.topic.length <= limits.maxTopicLength) return authorizePublish(client, packet, callback);', replace: 'if (packet.topic.length <= limits.maxTopicLength || !Number.isNaN(0)) return authorizePublish(client, packet, callback);' }], spec: LISTENER, test: 'maxTopicLength' },
  { name: 'maxTopicLength: PUBLISH (bad input: 64 KiB topic)', edits: [{ file: LIMITS, search: 'if (packet.topic.length <= limits.maxTopicLength) return authorizePublish(client, packet, callback);', replace: 'if (packet.topic.length <= limits.maxTopicLength || !Number.isNaN(0)) return authorizePublish(client, packet, callback);' }], spec: BAD_INPUT, test: '64 KiB topic' },
  { name: 'maxTopicLength: SUBSCRIBE', edits: [{ file: LIMITS, search: 'if (subscription.topic.length <= limits.maxTopicLength) return authorizeSubscribe(client, subscription, callback);', replace: 'if (subscription.topic.length <= limits.maxTopicLength || !Number.isNaN(0)) return authorizeSubscribe(client, subscription, callback);' }], spec: LISTENER, test: 'maxTopicLength' },
  { name: 'maxTopicLevels', edits: [withoutAedesOption('maxTopicLevels')], spec: LISTENER, test: 'maxTopicLevels' },
  { name: 'maxClientsIdLength: MQTT 3.1.1', edits: [{ file: LIMITS, search: 'if (packet.clientId.length <= limits.maxClientIdLength) return preConnect(client, packet, callback);', replace: 'if (packet.clientId.length <= limits.maxClientIdLength || !Number.isNaN(0)) return preConnect(client, packet, callback);' }], spec: LISTENER, test: 'maxClientsIdLength' },
  { name: 'maxClientsIdLength: MQTT 3.1 (Aedes)', edits: [withoutAedesOption('maxClientsIdLength')], spec: LISTENER, test: 'maxClientsIdLength' },
  { name: 'queueLimit', edits: [withoutAedesOption('queueLimit')], spec: LISTENER, test: 'queueLimit' },
  { name: 'maxInflightInbound', edits: [withoutAedesOption('maxInflightInbound')], spec: LISTENER, test: 'maxInflightInbound' },
  { name: 'maxQueuedMessages', edits: [{ file: 'lib/security/mqtt-security.ts', search: 'if (options.maxQueuedMessages > 0) limitOfflineQueues', replace: 'if (options.maxQueuedMessages > 0 && Number.isNaN(0)) limitOfflineQueues' }], spec: QUEUE, test: 'keeps the first maxQueuedMessages' },
  { name: 'maxBufferedBytes', edits: [{ file: LIMITS, search: 'if (limits.maxBufferedBytes > 0) limitBufferedBytes', replace: 'if (limits.maxBufferedBytes < 0) limitBufferedBytes' }], spec: SLOW, test: 'maxBufferedBytes' },
  { name: 'drainTimeout', edits: [withoutAedesOption('drainTimeout')], spec: SLOW, test: 'drainTimeout' },
  // Protocol checks that bad input meets in lib/ (the others are Aedes' or mqtt-packet's).
  { name: 'invalid UTF-8 in strings', edits: [{ file: 'lib/protocol/strict-packet-parser.ts', search: 'return value === null || isWellFormedMqttString(value, this._list, prefixOffset) ? value : null;', replace: 'return value;' }], spec: BAD_INPUT, test: 'invalid UTF-8' },
  {
    name: 'a throwing handler is contained',
    edits: [
      { file: 'lib/dispatch/mqtt-message.dispatcher.ts', search: '} catch (error) {\n      // Nest', replace: '} catch (error) {\n      throw error;\n      // Nest' },
      { file: 'lib/dispatch/mqtt-message.dispatcher.ts', search: 'this.dispatch(routes, packet, client).then(() => callback(null), () => callback(null));', replace: 'this.dispatch(routes, packet, client).then(() => callback(null));' },
    ],
    spec: BAD_INPUT,
    test: 'handler that throws',
  },
  // The auth policy's hooks.
  { name: 'authenticate: false → CONNACK 4, a code → that code', edits: [{ file: HOOKS, search: '      refuseConnect(client, code, REASONS[code], callback);', replace: '      return authenticate(client, username, password, callback);' }], spec: AUTH, test: 'CONNACK 4' },
  { name: 'authenticate: the code the policy returns', edits: [{ file: HOOKS, search: "const code = typeof result === 'number' && REASONS[result] ? result : MqttConnectReturnCode.BadUsernameOrPassword;", replace: 'const code = MqttConnectReturnCode.BadUsernameOrPassword;' }], spec: AUTH, test: 'CONNACK 4' },
  { name: 'authenticate: throws → CONNACK 3', edits: [{ file: HOOKS, search: "refuseConnect(client, MqttConnectReturnCode.ServerUnavailable, 'the auth policy failed', callback);", replace: 'authenticate(client, username, password, callback);' }], spec: AUTH, test: 'CONNACK 4' },
  { name: 'authorizePublish: false → disconnect', edits: [{ file: HOOKS, search: "if (!isThenable(result)) return refusePublish(client, packet, 'not authorized', callback);", replace: 'if (!isThenable(result)) return authorizePublish(client, packet, callback);' }], spec: AUTH, test: 'outside its namespace' },
  { name: 'authorizePublish: async false → disconnect', edits: [{ file: HOOKS, search: "(allowed) => (allowed === true ? authorizePublish(client, packet, callback) : refusePublish(client, packet, 'not authorized', callback)),", replace: '() => authorizePublish(client, packet, callback),' }], spec: AUTH, test: 'async answer' },
  { name: 'authorizePublish: throws → disconnect', edits: [{ file: HOOKS, search: 'return refusePublish(client, packet, `the auth policy failed: ${messageOf(error)}`, callback);', replace: 'return authorizePublish(client, packet, callback);' }], spec: AUTH, test: 'async answer' },
  { name: 'authorizePublish: $SYS/ closed even when the policy allows', edits: [{ file: HOOKS, search: 'if (result === true) return authorizePublish(client, packet, callback);', replace: 'if (result === true) return callback(null);' }], spec: AUTH, test: 'outside its namespace' },
  { name: '$SYS/ closed without a policy', edits: [{ file: 'lib/security/mqtt-security.ts', search: 'export function applyMqttSecurity(broker: Aedes, options: ResolvedMqttWsOptions, auth?: MqttAuthPolicyHost): void {', replace: 'export function applyMqttSecurity(broker: Aedes, options: ResolvedMqttWsOptions, auth?: MqttAuthPolicyHost): void {\n  broker.authorizePublish = (_client, _packet, callback) => callback(null);' }], spec: AUTH, test: 'SYS/ unpublishable' },
  { name: 'limits run before the policy', edits: [{ file: 'lib/security/mqtt-security.ts', search: '  if (auth?.enabled) installMqttAuthHooks(broker, auth);\n', replace: '' }, { file: 'lib/security/mqtt-security.ts', search: '    trustedProxies: options.trustedProxies,\n  });\n', replace: '    trustedProxies: options.trustedProxies,\n  });\n  if (auth?.enabled) installMqttAuthHooks(broker, auth);\n' }], spec: AUTH, test: 'limits come first' },
  { name: 'authorizeSubscribe: false → SUBACK 0x80', edits: [{ file: HOOKS, search: '  logger.debug(`Refused subscription to "${subscription.topic}" of ${describeClient(client)}: not authorized`);\n  callback(null, null);', replace: '  next(client, subscription, callback);' }], spec: AUTH, test: 'namespace: foreign' },
  { name: 'authorizeSubscribe: throws → SUBACK 0x80', edits: [{ file: HOOKS, search: '      logger.error(`Auth policy failed on a subscription of ${describeClient(client)}: ${messageOf(error)}`);\n      return callback(null, null);', replace: '      return authorizeSubscribe(client, subscription, callback);' }], spec: AUTH, test: 'namespace: foreign' },
  { name: 'authorizeSubscribe: rejects → SUBACK 0x80', edits: [{ file: HOOKS, search: '        logger.error(`Auth policy failed on a subscription of ${describeClient(client)}: ${messageOf(error)}`);\n        callback(null, null);', replace: '        authorizeSubscribe(client, subscription, callback);' }], spec: AUTH, test: 'namespace: foreign' },
  { name: 'authorizeSubscribe: a lower QoS', edits: [{ file: HOOKS, search: 'if (granted < subscription.qos) subscription.qos = granted;', replace: '' }], spec: AUTH, test: 'downgrades' },
  { name: 'authorizeForward: false → not delivered', edits: [{ file: HOOKS, search: 'return allowed === true ? authorizeForward(client, packet as AedesPublishPacket) : null;', replace: 'return authorizeForward(client, packet as AedesPublishPacket);' }], spec: AUTH, test: 'filters forwarding' },
  { name: 'authorizeForward: throws → not delivered', edits: [{ file: HOOKS, search: '      logger.error(`Auth policy failed to forward "${packet.topic}" to ${describeClient(client)}: ${messageOf(error)}`);\n      return null;', replace: '      return authorizeForward(client, packet as AedesPublishPacket);' }], spec: AUTH, test: 'filters forwarding' },
  // Bad option values.
  unvalidated('maxConnections', "for (const option of ['maxConnections', 'maxConnectionsPerIp', 'maxBufferedBytes'] as const)", "for (const option of ['maxConnectionsPerIp', 'maxBufferedBytes'] as const)"),
  unvalidated('maxConnectionsPerIp', "for (const option of ['maxConnections', 'maxConnectionsPerIp', 'maxBufferedBytes'] as const)", "for (const option of ['maxConnections', 'maxBufferedBytes'] as const)", PER_ADDRESS),
  unvalidated('maxBufferedBytes', "for (const option of ['maxConnections', 'maxConnectionsPerIp', 'maxBufferedBytes'] as const)", "for (const option of ['maxConnections', 'maxConnectionsPerIp'] as const)"),
  unvalidated('maxQueuedMessages', "fail('maxQueuedMessages', 'a non-negative integer', queued);", '{}', QUEUE),
  unvalidated('maxPacketSize', "fail('maxPacketSize', 'an integer from 2 to 268435455 (bytes)', resolved.maxPacketSize);", ''),
  unvalidated('maxTopicLength', "fail('maxTopicLength', 'an integer from 1 to 65535', resolved.maxTopicLength);", ''),
  unvalidated('maxInflightInbound', "fail('maxInflightInbound', 'a non-negative integer', inflight);", '{}'),
  unvalidated('trustedProxies', "fail('trustedProxies', 'an array of IP addresses or CIDR ranges', entry);", ''),
  unvalidated('allowedOrigins', '  validateOrigins(options.allowedOrigins, fail);\n', ''),
  // The bounded transport (issue 12).
  { name: 'close frame on an MQTT protocol error (1002)', edits: [{ file: 'lib/transport/websocket-duplex.ts', search: 'this.sendClose(closeCodeOf(error, lateConnect ? CloseCode.PolicyViolation : CloseCode.ProtocolError));', replace: 'this.socket.destroy();' }], spec: 'test/websocket-protocol.e2e-spec.ts', test: 'malformed MQTT packet' },
  { name: 'close frame 1001 on shutdown, bounded by closeTimeout', edits: [{ file: 'lib/transport/mqtt-websocket.server.ts', search: 'for (const connection of this.timers.connections) connection.goAway();', replace: 'for (const connection of this.timers.connections) connection.terminate();' }], spec: 'test/websocket-protocol.e2e-spec.ts', test: 'going away' },
  { name: 'pongs coalesced for a peer that does not read', edits: [{ file: 'lib/transport/websocket-duplex.ts', search: '    if (!this.socket.writableNeedDrain) {\n      this.socket.write(encodeControlFrame(Opcode.Pong, payload));', replace: '    if (!Number.isNaN(0)) {\n      this.socket.write(encodeControlFrame(Opcode.Pong, payload));' }], spec: 'test/security/transport-budgets.e2e-spec.ts', test: 'pings without reading' },
  { name: 'maxPreConnectPayload: one message before CONNECT (1009)', edits: [{ file: 'lib/transport/websocket-duplex.ts', search: 'new WebSocketFrameReader(this, limits.maxPreConnectPayload, limits.maxPreConnectPayload)', replace: 'new WebSocketFrameReader(this, limits.maxPayload, limits.maxPreConnectPayload)' }], spec: 'test/security/transport-budgets.e2e-spec.ts', test: 'one-byte fragments' },
  { name: 'maxPreConnectPayload: all bytes before CONNECT (1008)', edits: [{ file: 'lib/transport/websocket-frame-reader.ts', search: 'if (this.byteBudget < 0)', replace: 'if (this.byteBudget < 0 && Number.isNaN(0))' }], spec: 'test/security/transport-budgets.e2e-spec.ts', test: 'in all before' },
  { name: 'absolute deadline for an accepted CONNECT (1008)', edits: [{ file: 'lib/transport/connection-timers.ts', search: 'if (connection.deadline !== 0 && now >= connection.deadline)', replace: 'if (connection.deadline !== 0 && now >= connection.deadline && Number.isNaN(0))' }], spec: 'test/security/transport-budgets.e2e-spec.ts', test: 'however it trickles' },
  { name: 'absolute handshake deadline (dedicated port)', edits: [{ file: 'lib/transport/connection-timers.ts', search: 'if (now >= deadline) socket.destroy();', replace: 'if (now >= deadline && Number.isNaN(0)) socket.destroy();' }], spec: 'test/security/transport-budgets.e2e-spec.ts', test: 'handshakeTimeout' },
  { name: 'handshakes in progress count against maxConnections', edits: [{ file: 'lib/transport/mqtt-websocket.server.ts', search: '(maxConnections > 0 && this.timers.size >= maxConnections) || !this.guard.admitSocket(socket)', replace: '!this.guard.admitSocket(socket)' }], spec: 'test/security/transport-budgets.e2e-spec.ts', test: 'handshakeTimeout' },
  { name: 'WebSocket pings: a peer that answers nothing is dropped', edits: [{ file: 'lib/transport/websocket-duplex.ts', search: '    if (!this.alive) {', replace: '    if (!this.alive && Number.isNaN(0)) {' }], spec: 'test/security/transport-budgets.e2e-spec.ts', test: 'pingInterval' },
  { name: 'strict handshake: HTTP/1.1 or later', edits: [{ file: 'lib/transport/websocket-handshake.ts', search: 'request.httpVersionMinor < 1)) return OLD_HTTP;', replace: 'request.httpVersionMinor < 1) && Number.isNaN(0)) return OLD_HTTP;' }], spec: 'test/websocket-protocol.e2e-spec.ts', test: 'HTTP/1.0' },
  { name: 'strict handshake: Host required', edits: [{ file: 'lib/transport/websocket-handshake.ts', search: 'if (!request.headers.host) return NO_HOST;', replace: '' }], spec: 'test/websocket-protocol.e2e-spec.ts', test: 'no Host' },
  { name: 'origin default: trusted host names only (DNS rebinding)', edits: [{ file: GUARD, search: 'return hosts.trusts(target.hostname) && new URL(origin).host === target.host;', replace: 'return new URL(origin).host === target.host;' }], spec: LISTENER, test: 'DNS-rebinding' },
  unvalidated('allowedHosts', "fail('allowedHosts', expected, host);", '{}'),
  { name: 'tls on the dedicated port, client certificate to the policy', edits: [{ file: 'lib/transport/mqtt-ws.listener.ts', search: 'const tls = this.options.tls;', replace: "const tls = undefined as ResolvedMqttWsOptions['tls'];" }], spec: 'test/security/tls.e2e-spec.ts', test: 'client certificate' },
  unvalidated('tls', `fail('tls', "Node's TLS server options ({ key, cert, ... })", tls);`, '', 'test/security/transport-budgets.e2e-spec.ts'),
  unvalidated('tls without port', `if (port === undefined) fail('tls',`, `if (Number.isNaN(port)) fail('tls',`, 'test/security/transport-budgets.e2e-spec.ts'),
  { name: 'origin patterns with the g flag answer the same every time', edits: [{ file: GUARD, search: ".map((pattern) => new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')))", replace: '' }], spec: LISTENER, test: 'g flag' },
  { name: 'client ids in logs: controls, separators and bidi escaped', edits: [{ file: 'lib/security/describe-client.ts', search: 'return quoted.replace(UNSAFE_IN_LOGS, escapeCharacter);', replace: 'return quoted;' }], spec: LISTENER, test: 'client ids to logs' },
  { name: "other libraries' once('upgrade') listeners stay once", edits: [{ file: 'lib/transport/upgrade-router.ts', search: "this.server.rawListeners('upgrade') as UpgradeListener[]));", replace: "this.server.listeners('upgrade') as UpgradeListener[]));" }], spec: 'test/transport.e2e-spec.ts', test: 'once' },
  { name: 'maxConnectionsPerIp from the TCP accept (dedicated port)', edits: [{ file: 'lib/transport/mqtt-websocket.server.ts', search: ' || !this.guard.admitSocket(socket)) {', replace: ') {' }], spec: 'test/security/transport-budgets.e2e-spec.ts', test: 'TCP accept' },
  unvalidated('maxPreConnectPayload', "fail('maxPreConnectPayload', `an integer from 2 to maxPayload (${options.maxPayload}) bytes`, preConnect);", '', 'test/security/transport-budgets.e2e-spec.ts'),
];

function run(cwd, command, args) {
  // A spec that hangs without its protection has failed; the timeout ends it (status null).
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, CI: 'true' }, timeout: 300_000, killSignal: 'SIGKILL' });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

function jest(cwd, entry) {
  // --forceExit: a test that timed out without its protection leaves its app open.
  const args = ['--experimental-vm-modules', 'node_modules/jest/bin/jest.js', '--runInBand', '--forceExit', '--testTimeout', '15000', entry.spec];
  if (entry.test) args.push('-t', entry.test);
  return run(cwd, process.execPath, args);
}

function main() {
  const dir = resolve(process.argv[2] ?? '.');
  const filter = process.argv[3];
  const gitDir = execFileSync('git', ['rev-parse', '--absolute-git-dir'], { cwd: dir, encoding: 'utf8' }).trim();
  const commonDir = resolve(dir, execFileSync('git', ['rev-parse', '--git-common-dir'], { cwd: dir, encoding: 'utf8' }).trim());
  if (gitDir === commonDir) throw new Error(`${dir} is a main worktree; run this in a linked one (git worktree add)`);
  if (!run(dir, 'git', ['diff', '--quiet', '--', 'lib']).ok) throw new Error(`${dir} has changes in lib/; start from a clean checkout`);

  const entries = PROTECTIONS.filter((entry) => !filter || new RegExp(filter).test(entry.name));
  // Every spec must pass before anything is removed, or a failure would prove nothing.
  const baselines = new Map();
  for (const entry of entries) {
    const key = `${entry.spec} -t ${entry.test ?? ''}`;
    if (baselines.has(key)) continue;
    const baseline = jest(dir, entry);
    baselines.set(key, baseline.ok);
    if (!baseline.ok) {
      console.error(baseline.output);
      throw new Error(`baseline fails: ${key}`);
    }
  }

  const rows = [];
  for (const entry of entries) {
    const files = [...new Set(entry.edits.map((edit) => edit.file))];
    let outcome;
    try {
      for (const edit of entry.edits) {
        const path = join(dir, edit.file);
        const text = readFileSync(path, 'utf8');
        const count = text.split(edit.search).length - 1;
        if (count !== 1) throw new Error(`"${edit.search.slice(0, 60)}…" found ${count} times in ${edit.file}`);
        writeFileSync(path, text.replace(edit.search, () => edit.replace));
      }
      // A removal that does not compile would fail the spec for the wrong reason.
      const build = run(dir, 'npm', ['run', 'build']);
      if (!build.ok) {
        outcome = 'removal does not compile';
        console.error(build.output.split('\n').filter((line) => line.includes('error')).join('\n'));
      }
      else outcome = jest(dir, entry).ok ? 'NO: the spec passes without it' : 'yes';
    } finally {
      run(dir, 'git', ['checkout', '--', ...files]);
    }
    rows.push({ name: entry.name, spec: entry.spec.replace('test/security/', ''), test: entry.test ?? '(all)', outcome });
    console.log(`${outcome === 'yes' ? 'ok  ' : 'FAIL'} ${entry.name}: ${outcome}`);
  }
  console.log('\n| Protection | Spec (test) | Fails when removed |\n| --- | --- | --- |');
  for (const row of rows) console.log(`| ${row.name} | ${row.spec} (${row.test}) | ${row.outcome} |`);
  if (rows.some((row) => row.outcome !== 'yes')) process.exitCode = 1;
}

main();
