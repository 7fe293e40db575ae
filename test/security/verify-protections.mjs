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
// `node test/security/verify-protections.mjs --check` only checks, in place and without editing
// anything, that every search string is found exactly once (quick, after moving code). Importing
// this file runs nothing: it exports PROTECTIONS.
//
// A search string that is no longer found fails the run: the list must follow the code. A check
// is disabled with `&& Number.isNaN(0)` (or forced with `|| !Number.isNaN(0)`), which the compiler
// does not see through, so it reports no dead code.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const LISTENER = 'test/security/listener.e2e-spec.ts';
const PER_ADDRESS = 'test/security/connections-per-address.e2e-spec.ts';
const AUTH = 'test/security/auth.e2e-spec.ts';
const BAD_INPUT = 'test/security/bad-input.e2e-spec.ts';
const SLOW = 'test/security/slow-consumer.e2e-spec.ts';
const QUEUE = 'test/security/offline-queue.e2e-spec.ts';
const CONTRACT_SPEC = 'test/broker/aedes-contract.e2e-spec.ts';
const TCP_SPEC = 'test/transport/tcp-listener.e2e-spec.ts';
const TCP_SERVER = 'lib/transport/mqtt-tcp.server.ts';
const TCP_CONNECTION = 'lib/transport/mqtt-tcp.connection.ts';

const GUARD = 'lib/security/handshake-guard.ts';
const LIMITS = 'lib/security/mqtt-limits.stage.ts';
const PACKET_SIZE = 'lib/broker/aedes/packet-size.limit.ts';
const ADAPTER = 'lib/broker/aedes/aedes-mqtt-broker.ts';
const CONTRACT = 'lib/broker/aedes/aedes-contract.ts';
const HOOKS = 'lib/security/mqtt-auth-policy.stage.ts';
const VALIDATOR = 'lib/security/mqtt-security-options.validator.ts';
const FACTORY = 'lib/broker/mqtt-broker.factory.ts';
const PROXIES = 'lib/security/trusted-proxies.ts';
const FRAMES = 'lib/transport/websocket-frame-reader.ts';
const QOS2_RELEASE = 'lib/broker/aedes/qos2-release.ts';
const LEAN_PARSER = 'lib/broker/aedes/protocol/lean-packet-parser.ts';
const PARSER_SPEC = 'test/protocol/packet-parser.e2e-spec.ts';
const SHARED_READS_SPEC = 'test/transport/shared-read-buffer.e2e-spec.ts';
const QOS2_RELEASE_SPEC = 'test/protocol/qos2-release.e2e-spec.ts';
const QOS2_CONTRACT_SPEC = 'test/protocol/qos2-release-contract.e2e-spec.ts';
const HANDLER_CHECKS = 'lib/mqtt-handler.validator.ts';
const TOPIC_RULES = 'lib/topic/topic-rules.ts';
const MISTAKES = 'test/handler-mistakes.e2e-spec.ts';
const HANDLERS_DI = 'test/enhancers-di.e2e-spec.ts';
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
  { name: 'maxPacketSize', edits: [{ file: PACKET_SIZE, search: 'if (this.packet.length <= this[MAX_PACKET_SIZE]) return true;', replace: 'return true;' }], spec: LISTENER, test: 'maxPacketSize' },
  { name: 'maxPacketSize (bad input: largest remaining length)', edits: [{ file: PACKET_SIZE, search: 'if (this.packet.length <= this[MAX_PACKET_SIZE]) return true;', replace: 'return true;' }], spec: BAD_INPUT, test: 'packet length larger' },
  // Aedes' connectTimeout and the transport's CONNECT deadline both close a silent connection: off together.
  { name: 'connectTimeout', edits: [withoutAedesOption('connectTimeout'), { file: 'lib/transport/connection-timers.ts', search: 'if (connection.deadline !== 0 && now >= connection.deadline)', replace: 'if (connection.deadline !== 0 && now >= connection.deadline && Number.isNaN(0))' }], spec: LISTENER, test: 'connectTimeout' },
  { name: 'connectTimeout (bad input: truncated CONNECT, silent client)', edits: [withoutAedesOption('connectTimeout'), { file: 'lib/transport/connection-timers.ts', search: 'if (connection.deadline !== 0 && now >= connection.deadline)', replace: 'if (connection.deadline !== 0 && now >= connection.deadline && Number.isNaN(0))' }], spec: BAD_INPUT, test: 'truncated CONNECT|never speaks' },
  { name: 'keepaliveLimit', edits: [withoutAedesOption('keepaliveLimit')], spec: LISTENER, test: 'keepaliveLimit' },
  { name: 'maxTopicLength: PUBLISH', edits: [{ file: LIMITS, search: 'if (packet.topic.length <= limits.maxTopicLength) return authorizePublish(client, packet, callback);', replace: 'if (packet.topic.length <= limits.maxTopicLength || !Number.isNaN(0)) return authorizePublish(client, packet, callback);' }], spec: LISTENER, test: 'maxTopicLength' },
  { name: 'maxTopicLength: PUBLISH (bad input: 64 KiB topic)', edits: [{ file: LIMITS, search: 'if (packet.topic.length <= limits.maxTopicLength) return authorizePublish(client, packet, callback);', replace: 'if (packet.topic.length <= limits.maxTopicLength || !Number.isNaN(0)) return authorizePublish(client, packet, callback);' }], spec: BAD_INPUT, test: '64 KiB topic' },
  { name: 'maxTopicLength: SUBSCRIBE', edits: [{ file: LIMITS, search: 'if (subscription.topic.length <= limits.maxTopicLength) return authorizeSubscribe(client, subscription, callback);', replace: 'if (subscription.topic.length <= limits.maxTopicLength || !Number.isNaN(0)) return authorizeSubscribe(client, subscription, callback);' }], spec: LISTENER, test: 'maxTopicLength' },
  { name: 'maxTopicLevels', edits: [withoutAedesOption('maxTopicLevels')], spec: LISTENER, test: 'maxTopicLevels' },
  { name: 'maxClientsIdLength: MQTT 3.1.1', edits: [{ file: LIMITS, search: 'if (packet.clientId.length <= limits.maxClientIdLength) return preConnect(client, packet, callback);', replace: 'if (packet.clientId.length <= limits.maxClientIdLength || !Number.isNaN(0)) return preConnect(client, packet, callback);' }], spec: LISTENER, test: 'maxClientsIdLength' },
  { name: 'maxClientsIdLength: MQTT 3.1 (Aedes)', edits: [withoutAedesOption('maxClientsIdLength')], spec: LISTENER, test: 'maxClientsIdLength' },
  { name: 'queueLimit', edits: [withoutAedesOption('queueLimit')], spec: LISTENER, test: 'queueLimit' },
  { name: 'maxInflightInbound', edits: [withoutAedesOption('maxInflightInbound')], spec: LISTENER, test: 'maxInflightInbound' },
  { name: 'maxInflightInbound (Aedes 2 has no bound: the adapter enforces it)', edits: [{ file: 'lib/broker/aedes/inbound-qos2.limit.ts', search: 'if (!awaiting.has(id) && awaiting.size >= limit) {', replace: 'if (!awaiting.has(id) && awaiting.size >= limit && Number.isNaN(0)) {' }], spec: LISTENER, test: 'maxInflightInbound' },
  { name: 'MQTT 5 Receive Maximum towards the client', edits: [{ file: 'lib/broker/aedes/protocol/v5-outbound-limits.ts', search: 'if (packet.qos === 0 || state.inflight < state.receiveMaximum) return state.deliverQoS(packet, callback);', replace: 'return state.deliverQoS(packet, callback);' }], spec: 'test/mqtt5/broker-flow.e2e-spec.ts', test: 'Receive Maximum' },
  { name: 'MQTT 5 Maximum Packet Size towards the client', edits: [{ file: 'lib/broker/aedes/protocol/v5-outbound-limits.ts', search: 'if (state.maximumPacketSize > 0 && forwardedSize(client, packet) > state.maximumPacketSize) return null;', replace: '' }], spec: 'test/mqtt5/broker-flow.e2e-spec.ts', test: 'Maximum Packet Size' },
  { name: 'MQTT 5 Receive Maximum towards the server: DISCONNECT 0x93', edits: [{ file: 'lib/broker/aedes/inbound-qos2.limit.ts', search: '  if (client.version !== 5) return Promise.reject(error);', replace: '  if (Number.isFinite(0)) return Promise.reject(error);' }], spec: 'test/mqtt5/receive-maximum-inbound.e2e-spec.ts', test: 'DISCONNECT 0x93' },
  { name: 'MQTT 5 Receive Maximum: deliveries that may wait', edits: [{ file: 'lib/broker/aedes/protocol/v5-outbound-limits.ts', search: 'if (state.waiting.length >= MAX_WAITING_DELIVERIES) {', replace: 'if (state.waiting.length >= MAX_WAITING_DELIVERIES && Number.isNaN(0)) {' }], spec: 'test/mqtt5/broker-flow.e2e-spec.ts', test: 'quota exceeded' },
  { name: 'MQTT 5 Receive Maximum: a failed PUBREC frees its slot', edits: [{ file: 'lib/broker/aedes/protocol/v5-outbound-limits.ts', search: "if (packet.cmd === 'pubrec' && (packet.reasonCode ?? 0) >= 0x80) releaseV5Slot(client);", replace: '' }], spec: 'test/mqtt5/broker-flow.e2e-spec.ts', test: 'failed PUBREC' },
  { name: 'MQTT 5 topic aliases towards the client: at most 64 per connection', edits: [{ file: 'lib/broker/aedes/protocol/v5-topic-aliases.ts', search: 'maximum: Math.min(requested, MAX_OUTBOUND_TOPIC_ALIASES),', replace: 'maximum: requested,' }], spec: 'test/mqtt5/broker-topic-aliases.e2e-spec.ts', test: 'keeps at most' },
  { name: 'MQTT 5 topic aliases: an alias only if the PUBLISH still fits the Maximum Packet Size', edits: [{ file: 'lib/broker/aedes/protocol/v5-topic-aliases.ts', search: 'if (state.maximumPacketSize > 0 && publishSize(packet, topic, alias) > state.maximumPacketSize) return 0;', replace: '' }], spec: 'test/mqtt5/broker-topic-aliases.e2e-spec.ts', test: 'Maximum Packet Size' },
  { name: 'A clean session forgets its QoS 2 messages awaiting PUBREL (Aedes 2 beta lost cleanIncoming)', edits: [{ file: ADAPTER, search: '      releaseInboundQos2OnCleanClose(aedes as never, aedes.persistence as never);\n', replace: '' }], spec: 'test/broker/aedes2-regressions.e2e-spec.ts', test: 'MQTT-3.1.2-6' },
  { name: 'GHSA-52qw-whmv-87c5: client ids that are Object.prototype keys (Aedes 2 beta lost the fix)', edits: [{ file: ADAPTER, search: "aedes.clients = Object.create(null) as AedesInternals['clients'];", replace: '' }], spec: 'test/broker/aedes2-regressions.e2e-spec.ts', test: 'GHSA' },
  { name: 'maxQueuedMessages', edits: [{ file: 'lib/security/mqtt-security.ts', search: 'if (options.maxQueuedMessages > 0) limitOfflineQueues', replace: 'if (options.maxQueuedMessages > 0 && Number.isNaN(0)) limitOfflineQueues' }], spec: QUEUE, test: 'keeps the first maxQueuedMessages' },
  { name: 'maxBufferedBytes', edits: [{ file: ADAPTER, search: 'if (this.settings.maxBufferedBytes > 0) limitBufferedBytes', replace: 'if (this.settings.maxBufferedBytes < 0) limitBufferedBytes' }], spec: SLOW, test: 'maxBufferedBytes' },
  { name: 'drainTimeout', edits: [withoutAedesOption('drainTimeout')], spec: SLOW, test: 'drainTimeout' },
  // Protocol checks that bad input meets in lib/ (the others are Aedes' or mqtt-packet's).
  // The parse steps the adapter took over from mqtt-packet (lib/broker/aedes/protocol/lean-packet-parser.ts).
  { name: 'parser: required header flags', edits: [{ file: LEAN_PARSER, search: 'if (required !== undefined && flags !== required) {', replace: 'if (required !== undefined && flags !== required && Number.isNaN(0)) {' }], spec: PARSER_SPEC, test: 'PUBREL without its required flags' },
  { name: 'parser: both QoS bits', edits: [{ file: LEAN_PARSER, search: 'if (packet.qos === 3) {', replace: 'if (packet.qos === 3 && Number.isNaN(0)) {' }], spec: 'test/protocol/publish.e2e-spec.ts', test: 'both QoS bits set' },
  { name: 'parser: Remaining Length of five bytes', edits: [{ file: LEAN_PARSER, search: "  this._emitError(new Error('Invalid variable byte integer'));\n", replace: '' }], spec: PARSER_SPEC, test: 'a Remaining Length of five bytes' },
  { name: 'parser: packet identifier missing', edits: [{ file: LEAN_PARSER, search: 'if (id === -1) {', replace: 'if (id === -1 && Number.isNaN(0)) {' }], spec: PARSER_SPEC, test: 'a PUBACK that ends inside its packet identifier' },
  { name: 'parser: two-byte integers end with their packet', edits: [{ file: LEAN_PARSER, search: 'if (this._pos + 2 > this.packet.length) return -1;', replace: 'if (this._pos + 2 > this._list.length) return -1;' }], spec: PARSER_SPEC, test: 'a QoS 1 PUBLISH that ends inside its packet identifier' },
  { name: 'parser: strings end with their packet', edits: [{ file: LEAN_PARSER, search: 'if (end > this.packet.length) return null;', replace: '' }], spec: PARSER_SPEC, test: 'a PUBLISH whose topic runs past its packet' },
  // Reads lent by the shared read buffer (lib/transport/shared-read-buffer.ts): what outlives a read is a copy.
  { name: 'shared read buffer: a cut frame header is copied', edits: [{ file: FRAMES, search: 'this.partialHeader = this.lentChunks ? keepBytes(chunk, offset) : chunk.subarray(offset);', replace: 'this.partialHeader = chunk.subarray(offset);' }], spec: SHARED_READS_SPEC, test: 'frame header cut' },
  { name: "shared read buffer: a cut ping's payload is copied", edits: [{ file: FRAMES, search: 'if (this.remaining > 0 && this.lentChunks && this.control === bytes) this.control = keepBytes(bytes);', replace: '' }], spec: SHARED_READS_SPEC, test: "ping's payload cut" },
  { name: 'shared read buffer: WebSocket payloads are copied', edits: [{ file: FRAMES, search: 'this.sink.onPayload(this.lentChunks ? keepBytes(chunk, start, end) : chunk.subarray(start, end));', replace: 'this.sink.onPayload(chunk.subarray(start, end));' }], spec: SHARED_READS_SPEC, test: 'PUBLISH cut between two reads, inside one frame' },
  { name: 'a WebSocket peer faster than the parser is paused at its socket', edits: [{ file: 'lib/transport/websocket-duplex.ts', search: 'if (!this.push(bytes)) this.socket.pause();', replace: 'this.push(bytes);' }], spec: SHARED_READS_SPEC, test: 'WebSocket stops reading a peer that sends faster' },
  { name: 'a TCP peer faster than the parser is paused at its socket', edits: [{ file: TCP_CONNECTION, search: 'if (!this.push(this.lentReads ? keepBytes(chunk) : chunk)) this.socket.pause();', replace: 'this.push(this.lentReads ? keepBytes(chunk) : chunk);' }], spec: SHARED_READS_SPEC, test: 'TCP listener stops reading a peer that sends faster' },
  { name: 'shared read buffer: TCP reads are copied', edits: [{ file: TCP_CONNECTION, search: 'if (!this.push(this.lentReads ? keepBytes(chunk) : chunk)) this.socket.pause();', replace: 'if (!this.push(chunk)) this.socket.pause();' }], spec: SHARED_READS_SPEC, test: 'TCP listener' },
  { name: 'invalid UTF-8 in strings', edits: [{ file: 'lib/broker/aedes/protocol/strict-packet-parser.ts', search: 'return value === null || isWellFormedMqttString(value, this._list, prefixOffset) ? value : null;', replace: 'return value;' }], spec: BAD_INPUT, test: 'invalid UTF-8' },
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
  { name: 'authenticate: false → CONNACK 4, a code → that code', edits: [{ file: HOOKS, search: '        refuseConnect(client, code, REASONS[code], callback);', replace: '        return authenticate(client, username, password, callback);' }], spec: AUTH, test: 'CONNACK 4' },
  { name: 'authenticate: the code the policy returns', edits: [{ file: HOOKS, search: "const code = typeof result === 'number' && REASONS[result] ? result : MqttConnectReturnCode.BadUsernameOrPassword;", replace: 'const code = MqttConnectReturnCode.BadUsernameOrPassword;' }], spec: AUTH, test: 'CONNACK 4' },
  { name: 'authenticate: throws → CONNACK 3', edits: [{ file: HOOKS, search: "refuseConnect(client, MqttConnectReturnCode.ServerUnavailable, 'the auth policy failed', callback);", replace: 'authenticate(client, username, password, callback);' }], spec: AUTH, test: 'CONNACK 4' },
  { name: 'authorizePublish: false → disconnect', edits: [{ file: HOOKS, search: "if (!isThenable(result)) return refusePublish(client, packet, 'not authorized', callback);", replace: 'if (!isThenable(result)) return authorizePublish(client, packet, callback);' }], spec: AUTH, test: 'outside its namespace' },
  { name: 'authorizePublish: async false → disconnect', edits: [{ file: HOOKS, search: "(allowed) => (allowed === true ? authorizePublish(client, packet, callback) : refusePublish(client, packet, 'not authorized', callback)),", replace: '() => authorizePublish(client, packet, callback),' }], spec: AUTH, test: 'async answer' },
  { name: 'authorizePublish: throws → disconnect', edits: [{ file: HOOKS, search: 'return refusePublish(client, packet, `the auth policy failed: ${messageOf(error)}`, callback);', replace: 'return authorizePublish(client, packet, callback);' }], spec: AUTH, test: 'async answer' },
  { name: 'authorizePublish: $SYS/ closed even when the policy allows', edits: [{ file: HOOKS, search: 'if (result === true) return authorizePublish(client, packet, callback);', replace: 'if (result === true) return callback(null);' }], spec: AUTH, test: 'outside its namespace' },
  { name: '$SYS/ closed without a policy', edits: [{ file: ADAPTER, search: 'defaults.authorizePublish(client && aedesClientOf(client), packet as never, callback as (error?: Error | null) => void),', replace: '(callback as (error?: Error | null) => void)(null),' }], spec: AUTH, test: 'SYS/ unpublishable' },
  { name: 'limits run before the policy (the hook chain order)', edits: [{ file: 'lib/broker/hook-chain.ts', search: "['statistics', 'protocol', 'limits', 'offline-sessions', 'auth-policy', 'sys-topics', 'handlers'] as const", replace: "['statistics', 'protocol', 'offline-sessions', 'auth-policy', 'limits', 'sys-topics', 'handlers'] as const" }], spec: AUTH, test: 'limits come first' },
  { name: 'authorizeSubscribe: false → SUBACK 0x80', edits: [{ file: HOOKS, search: '  logger.debug(`Refused subscription to "${subscription.topic}" of ${describeClient(client)}: not authorized`);\n  callback(null, null);', replace: '  next(client, subscription, callback);' }], spec: AUTH, test: 'namespace: foreign' },
  { name: 'authorizeSubscribe: throws → SUBACK 0x80', edits: [{ file: HOOKS, search: '        logger.error(`Auth policy failed on a subscription of ${describeClient(client)}: ${messageOf(error)}`);\n        return callback(null, null);', replace: '        return authorizeSubscribe(client, subscription, callback);' }], spec: AUTH, test: 'namespace: foreign' },
  { name: 'authorizeSubscribe: rejects → SUBACK 0x80', edits: [{ file: HOOKS, search: '          logger.error(`Auth policy failed on a subscription of ${describeClient(client)}: ${messageOf(error)}`);\n          callback(null, null);', replace: '          authorizeSubscribe(client, subscription, callback);' }], spec: AUTH, test: 'namespace: foreign' },
  { name: 'authorizeSubscribe: a lower QoS', edits: [{ file: HOOKS, search: 'if (granted < subscription.qos) subscription.qos = granted;', replace: '' }], spec: AUTH, test: 'downgrades' },
  { name: 'authorizeForward: false → not delivered', edits: [{ file: HOOKS, search: 'return allowed === true ? authorizeForward(client, packet) : null;', replace: 'return authorizeForward(client, packet);' }], spec: AUTH, test: 'filters forwarding' },
  { name: 'authorizeForward: throws → not delivered', edits: [{ file: HOOKS, search: '        logger.error(`Auth policy failed to forward "${packet.topic}" to ${describeClient(client)}: ${messageOf(error)}`);\n        return null;', replace: '        return authorizeForward(client, packet);' }], spec: AUTH, test: 'filters forwarding' },
  // The broker adapter's contract check (test/broker/aedes-contract.e2e-spec.ts).
  { name: 'contract: installed versions', edits: [{ file: CONTRACT, search: 'if (found !== SUPPORTED_VERSIONS[name])', replace: 'if (found !== SUPPORTED_VERSIONS[name] && Number.isNaN(0))' }], spec: CONTRACT_SPEC, test: 'refuses' },
  { name: 'contract: mqtt-packet parser methods', edits: [{ file: CONTRACT, search: "if (typeof installed.parserPrototype[method] !== 'function') {", replace: "if (typeof installed.parserPrototype[method] !== 'function' && Number.isNaN(0)) {" }], spec: CONTRACT_SPEC, test: 'lost a method' },
  { name: 'contract: Aedes Client methods', edits: [{ file: CONTRACT, search: "if (typeof installed.clientClass.prototype[method] !== 'function') {", replace: "if (typeof installed.clientClass.prototype[method] !== 'function' && Number.isNaN(0)) {" }], spec: CONTRACT_SPEC, test: 'lost waitForDrain' },
  { name: 'contract: Aedes Client constructor fields', edits: [{ file: CONTRACT, search: 'if (!constructorSource.includes(assignment)) {', replace: 'if (!constructorSource.includes(assignment) && Number.isNaN(0)) {' }], spec: CONTRACT_SPEC, test: 'no longer sets deliver0' },
  { name: 'contract: Aedes behaviour read in its sources', edits: [{ file: CONTRACT, search: "if (!(installed.aedesSources[file] ?? '').includes(text)) {", replace: "if (!(installed.aedesSources[file] ?? '').includes(text) && Number.isNaN(0)) {" }], spec: CONTRACT_SPEC, test: 'SUBSCRIBE handler' },
  // The lost QoS 2 message (issue 11 item 7): PUBRECs read together must each release their own packet identifier.
  { name: 'QoS 2 release: each PUBREL gets its own record in the persistence', edits: [{ file: QOS2_RELEASE, search: '  store.outgoingUpdate = contract.inMemory ? updateWithInMemoryPubrelRecord : updateWithPubrelCopy;\n', replace: '' }], spec: QOS2_RELEASE_SPEC },
  { name: 'QoS 2 release: the in-memory store matches a PUBREL by its packet identifier', edits: [{ file: QOS2_RELEASE, search: 'contract.inMemory ? updateWithInMemoryPubrelRecord : updateWithPubrelCopy', replace: 'updateWithPubrelCopy' }], spec: QOS2_RELEASE_SPEC, test: 'one write' },
  { name: 'QoS 2 release: refuses at start-up an aedes or aedes-persistence it was not written for', edits: [{ file: QOS2_RELEASE, search: 'if (installed[name] !== supported) {', replace: 'if (installed[name] !== supported && Number.isNaN(0)) {' }], spec: QOS2_CONTRACT_SPEC, test: 'refuses' },
  { name: 'QoS 2 release: refuses a persistence without outgoingUpdate', edits: [{ file: QOS2_RELEASE, search: "if (typeof (persistence as Partial<OutgoingStore> | undefined)?.outgoingUpdate !== 'function') {", replace: "if (typeof (persistence as Partial<OutgoingStore> | undefined)?.outgoingUpdate !== 'function' && Number.isNaN(0)) {" }], spec: QOS2_CONTRACT_SPEC, test: 'without outgoingUpdate' },
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
  // Set-up mistakes (issue 15): they stop the app at start-up, with the fix in the message.
  { name: 'unknown option keys', edits: [{ file: 'lib/mqtt-ws-options.validator.ts', search: 'if (known.includes(key)) continue;', replace: 'if (known.includes(key) || !Number.isNaN(0)) continue;' }], spec: 'test/adoption/startup-mistakes.e2e-spec.ts', test: 'unknown option key' },
  { name: 'auth policy outside MqttWsModule: says where to provide it', edits: [{ file: 'lib/security/mqtt-auth-policy.host.ts', search: 'if (dependency === undefined) throw error;', replace: 'if (dependency === undefined || !Number.isNaN(0)) throw error;' }], spec: 'test/adoption/startup-mistakes.e2e-spec.ts', test: 'constructor dependencies' },
  // Handler decorator mistakes, refused at start-up, and the topic rules (issues 11 and 15).
  { name: 'class pipes through DI: params under Nest route-arguments key', edits: [{ file: 'lib/mqtt-ws.constants.ts', search: 'export const MQTT_PARAM_ARGS_METADATA = ROUTE_ARGS_METADATA;', replace: "export const MQTT_PARAM_ARGS_METADATA = 'nestjs-mqtt-ws:param-args' as string;" }], spec: HANDLERS_DI, test: 'TagClassPipe' },
  { name: 'handler: @Params name must be a level of every filter', edits: [{ file: HANDLER_CHECKS, search: 'if (filter.paramNames.includes(name as string)) continue;', replace: 'if (filter.paramNames.includes(name as string) || !Number.isNaN(0)) continue;' }], spec: MISTAKES, test: 'named param' },
  { name: 'handler: every parameter decorated', edits: [{ file: HANDLER_CHECKS, search: 'if (!byIndex.has(index)) {', replace: 'if (!byIndex.has(index) && Number.isNaN(0)) {' }], spec: MISTAKES, test: 'without a decorator' },
  { name: 'handler: not also an HTTP route', edits: [{ file: HANDLER_CHECKS, search: 'if (Reflect.getMetadata(key, method) !== undefined) {', replace: 'if (Reflect.getMetadata(key, method) !== undefined && Number.isNaN(0)) {' }], spec: MISTAKES, test: 'both an HTTP route' },
  { name: 'handler: known @OnMqttEvent name', edits: [{ file: HANDLER_CHECKS, search: 'if ((MQTT_EVENT_NAMES as readonly unknown[]).includes(event)) return;', replace: 'if ((MQTT_EVENT_NAMES as readonly unknown[]).includes(event) || !Number.isNaN(0)) return;' }], spec: MISTAKES, test: 'unknown event name' },
  { name: 'handler: unknown @MqttSubscribe option', edits: [{ file: HANDLER_CHECKS, search: '    if (known.includes(key)) continue;', replace: '    if (known.includes(key) || !Number.isNaN(0)) continue;' }], spec: MISTAKES, test: 'unknown @MqttSubscribe option' },
  { name: 'handler: known payloadFormat', edits: [{ file: HANDLER_CHECKS, search: 'if (format !== undefined && !PAYLOAD_FORMATS.includes(format)) {', replace: 'if (format !== undefined && !PAYLOAD_FORMATS.includes(format) && Number.isNaN(0)) {' }], spec: MISTAKES, test: 'unknown payloadFormat' },
  { name: "handler: @Payload('property') needs JSON", edits: [{ file: HANDLER_CHECKS, search: 'if (entry.data === undefined || format === undefined) return;', replace: 'if (entry.data === undefined || format === undefined || !Number.isNaN(0)) return;' }], spec: MISTAKES, test: 'decodes text or bytes' },
  { name: 'handler: not also an event handler', edits: [{ file: 'lib/mqtt.explorer.ts', search: 'if (subscriptions && events) {', replace: 'if (subscriptions && events && Number.isNaN(0)) {' }], spec: MISTAKES, test: 'both a message handler and an event handler' },
  { name: 'handler: no request-scoped global guard (Nest would skip it on MQTT handlers)', edits: [{ file: HANDLER_CHECKS, search: "if (kind === 'guard') {", replace: "if (kind === 'guard' && Number.isNaN(0)) {" }], spec: MISTAKES, test: 'request-scoped global guard' },
  { name: 'topic filter: # alone on the last level', edits: [{ file: TOPIC_RULES, search: 'if (i !== last || (i > 0 && filter.charCodeAt(i - 1) !== SLASH)) {', replace: 'if ((i !== last || (i > 0 && filter.charCodeAt(i - 1) !== SLASH)) && Number.isNaN(0)) {' }], spec: MISTAKES, test: 'invalid filter a/' },
  { name: 'topic filter: + fills a level', edits: [{ file: TOPIC_RULES, search: 'if ((i > 0 && filter.charCodeAt(i - 1) !== SLASH) || (i < last && filter.charCodeAt(i + 1) !== SLASH)) {', replace: 'if (((i > 0 && filter.charCodeAt(i - 1) !== SLASH) || (i < last && filter.charCodeAt(i + 1) !== SLASH)) && Number.isNaN(0)) {' }], spec: MISTAKES, test: 'invalid filter a\\+' },
  { name: 'topic filter: no null character', edits: [{ file: TOPIC_RULES, search: "} else if (code === NULL) {\n      return 'a topic filter", replace: "} else if (code === NULL && Number.isNaN(0)) {\n      return 'a topic filter" }], spec: MISTAKES, test: 'U\\+0000' },
  { name: 'topic filter: at most 65535 bytes', edits: [{ file: TOPIC_RULES, search: "if (filter.length > SURELY_SHORT_ENOUGH && Buffer.byteLength(filter) > MAX_BYTES) {", replace: "if (filter.length > SURELY_SHORT_ENOUGH && Buffer.byteLength(filter) > MAX_BYTES && Number.isNaN(0)) {" }], spec: MISTAKES, test: '65536 bytes' },
  // The bounded transport (issue 12).
  { name: 'close frame on an MQTT protocol error (1002)', edits: [{ file: 'lib/transport/websocket-duplex.ts', search: 'this.sendClose(closeCodeOf(error, lateConnect ? CloseCode.PolicyViolation : CloseCode.ProtocolError), error?.message);', replace: 'this.socket.destroy();' }], spec: 'test/websocket-protocol.e2e-spec.ts', test: 'malformed MQTT packet' },
  { name: 'close frame 1001 on shutdown, bounded by closeTimeout', edits: [{ file: 'lib/transport/mqtt-websocket.server.ts', search: 'for (const connection of this.timers.connections) connection.goAway();', replace: 'for (const connection of this.timers.connections) connection.terminate();' }], spec: 'test/websocket-protocol.e2e-spec.ts', test: 'going away' },
  { name: 'pongs coalesced for a peer that does not read', edits: [{ file: 'lib/transport/websocket-duplex.ts', search: '    if (!this.socket.writableNeedDrain) {\n      this.socket.write(encodeControlFrame(Opcode.Pong, payload));', replace: '    if (!Number.isNaN(0)) {\n      this.socket.write(encodeControlFrame(Opcode.Pong, payload));' }], spec: 'test/security/transport-budgets.e2e-spec.ts', test: 'pings without reading' },
  { name: 'maxPreConnectPayload: one message before CONNECT (1009)', edits: [{ file: 'lib/transport/websocket-duplex.ts', search: 'new WebSocketFrameReader(this, limits.maxPreConnectPayload, limits.maxPreConnectPayload, lentChunks)', replace: 'new WebSocketFrameReader(this, limits.maxPayload, limits.maxPreConnectPayload, lentChunks)' }], spec: 'test/security/transport-budgets.e2e-spec.ts', test: 'one-byte fragments' },
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
  // $SYS/broker statistics (issue 14): readable only with the auth policy's explicit allowance.
  { name: '$SYS/broker: refused without a policy', edits: [{ file: 'lib/sys/sys-topics.stage.ts', search: 'if (readsSys(subscription.topic) && auth?.policy?.authorizeSubscribe === undefined)', replace: 'if (readsSys(subscription.topic) && auth?.policy?.authorizeSubscribe === undefined && Number.isNaN(0))' }], spec: 'test/operations/sys-topics.e2e-spec.ts', test: 'refuses \\$SYS/broker filters to everyone' },
  { name: '$SYS/broker: a policy must allow explicitly', edits: [{ file: 'lib/sys/sys-topics.stage.ts', search: '&& auth?.policy?.authorizeSubscribe === undefined)', replace: '&& auth?.policy === undefined)' }], spec: 'test/operations/sys-topics.e2e-spec.ts', test: 'leaves subscriptions to the default' },
  { name: '$SYS: every filter whose first level is $SYS', edits: [{ file: 'lib/sys/sys-topics.stage.ts', search: "return filter.startsWith('$SYS') && (filter.length === 4 || filter.charCodeAt(4) === SLASH);", replace: "return filter.startsWith('$SYS/broker');" }], spec: 'test/operations/sys-topics.e2e-spec.ts', test: 'refuses' },
  { name: '$SYS: the rule is always installed', edits: [{ file: 'lib/sys/operations.stages.ts', search: '  stages.push(sysTopicsStage(auth));', replace: '  if (options.sysInterval) stages.push(sysTopicsStage(auth));' }], spec: 'test/operations/sys-topics.e2e-spec.ts', test: 'own .SYS reports without sysInterval' },
  { name: "validation: id 'broker' with sysInterval", edits: [{ file: 'lib/metrics/mqtt-operations-options.validator.ts', search: "if (interval && options.id === 'broker') {", replace: "if (interval && options.id === 'broker' && Number.isNaN(0)) {" }], spec: 'test/operations/sys-topics.e2e-spec.ts', test: 'bad sysInterval' },
  // MQTT 5 in the Nest API (test/mqtt5/api-*).
  { name: "handler: @Properties('name') must be an MQTT 5 PUBLISH property", edits: [{ file: HANDLER_CHECKS, search: 'if (name === undefined || (PUBLISH_PROPERTY_NAMES as readonly unknown[]).includes(name)) return;', replace: 'if (name === undefined || (PUBLISH_PROPERTY_NAMES as readonly unknown[]).includes(name) || !Number.isNaN(0)) return;' }], spec: 'test/mqtt5/api-handlers.e2e-spec.ts', test: 'contentTyp' },
  { name: 'publish: MQTT 5 properties checked', edits: [{ file: 'lib/dispatch/publish-properties.ts', search: '    const error = setProperty(properties, name, value);\n    if (error !== undefined) return error;', replace: '    setProperty(properties, name, value);' }], spec: 'test/mqtt5/api-handlers.e2e-spec.ts', test: 'rejects publish properties' },
  { name: 'authenticate: an MQTT 5 reason code refuses (nearest 3.1.1 code)', edits: [{ file: HOOKS, search: 'if (refusal !== undefined) return refuseWithReason(client, refusal, callback);', replace: '' }], spec: 'test/mqtt5/api-auth.e2e-spec.ts' },
  { name: 'response: only where the requester may publish', edits: [{ file: 'lib/dispatch/mqtt-responder.ts', search: 'if (client !== null && !(await this.mayRespond(client, response))) {', replace: 'if (Number.isNaN(0)) {' }], spec: 'test/mqtt5/api-v5-clients.e2e-spec.ts', test: 'response topic the requester may publish to' },
  { name: 'authenticate: only CONNACK refusal codes', edits: [{ file: HOOKS, search: "if (!CONNACK_REFUSALS.has(reasonCode) || (reasonString !== undefined && typeof reasonString !== 'string')) {", replace: 'if (Number.isNaN(0)) {' }], spec: 'test/mqtt5/api-v5-clients.e2e-spec.ts', test: 'refuses an MQTT 5 client' },
  { name: 'disconnect: only DISCONNECT reason codes', edits: [{ file: 'lib/mqtt.service.ts', search: '!DISCONNECT_REASON_CODES.has(given.code)', replace: 'Number.isNaN(0)' }], spec: 'test/mqtt5/api-disconnect.e2e-spec.ts', test: 'refuses a reason code' },
  // The tcp listeners (MQTT over TCP and TLS).
  { name: 'tcp: maxConnections counts TCP and WebSocket together, from the TCP accept', edits: [{ file: TCP_SERVER, search: '(maxConnections > 0 && this.timers.size >= maxConnections) || !this.guard.admitSocket(socket)', replace: '!this.guard.admitSocket(socket)' }], spec: TCP_SPEC, test: 'together against maxConnections' },
  { name: 'tcp: maxConnectionsPerIp from the TCP accept', edits: [{ file: TCP_SERVER, search: ' || !this.guard.admitSocket(socket)) {', replace: ') {' }], spec: TCP_SPEC, test: 'against maxConnectionsPerIp' },
  { name: 'tcp: maxPreConnectPayload bytes before the CONNECT', edits: [{ file: TCP_CONNECTION, search: 'if (!this.connected && (this.preConnectBudget -= chunk.length) < 0) {', replace: 'if (!this.connected && (this.preConnectBudget -= chunk.length) < 0 && Number.isNaN(0)) {' }], spec: TCP_SPEC, test: 'more than maxPreConnectPayload' },
  { name: 'tcp: absolute deadline for the accepted CONNECT', edits: [{ file: TCP_CONNECTION, search: 'this.deadline = Date.now() + limits.connectTimeout;', replace: 'this.deadline = 0;' }], spec: TCP_SPEC, test: 'within connectTimeout' },
  { name: 'tcp: shutdown ends each connection after what is pending, without waiting for closeTimeout', edits: [{ file: TCP_CONNECTION, search: '  goAway(): void {\n    this.close();', replace: '  goAway(): void {\n    void this.close;' }], spec: TCP_SPEC, test: 'tells every client' },
  { name: 'tcp: tls serves mqtts:// with the client certificate', edits: [{ file: TCP_SERVER, search: 'const tls = listener.tls;', replace: 'const tls = undefined as TlsOptions | undefined;' }], spec: TCP_SPEC, test: 'verified client certificate' },
  { name: 'tcp: only a verified client certificate reaches the policy', edits: [{ file: 'lib/broker/aedes/aedes-client.ts', search: "return socket?.authorized === true ? socket.getPeerCertificate() : undefined;", replace: "return socket?.getPeerCertificate !== undefined ? socket.getPeerCertificate() : undefined;" }], spec: TCP_SPEC, test: 'sent none' },
  { name: 'validation: tcp listener port', edits: [{ file: 'lib/mqtt-ws-options.validator.ts', search: 'if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) fail(`${name}.port`', replace: 'if (Number.isNaN(0)) fail(`${name}.port`' }], spec: TCP_SPEC, test: 'names the mistake' },
  { name: 'shared subscriptions: a $share/ filter whose ShareName is a wildcard is refused', edits: [{ file: 'lib/broker/aedes/shared/share-topic.ts', search: "  if (group.includes('+') || group.includes('#')) return undefined;\n", replace: '' }], spec: 'test/mqtt5/shared-sessions.e2e-spec.ts', test: 'malformed' },
  { name: 'shared subscriptions: UNSUBSCRIBE $share/g/f leaves only a group the client is in', edits: [{ file: 'lib/broker/aedes/protocol/shared-subscriptions.ts', search: 'if (parts !== undefined && own.get(parts.filter) === groupKey(parts.group, parts.filter)) filters[i] = parts.filter;', replace: 'if (parts !== undefined) filters[i] = parts.filter;' }], spec: 'test/mqtt5/shared-sessions.e2e-spec.ts', test: 'a group the client is not in' },
  { name: 'shared subscriptions: No Local on a shared subscription is a Protocol Error', edits: [{ file: 'lib/broker/aedes/protocol/shared-subscriptions.ts', search: '    if (subscription.nl) return', replace: '    if (subscription.nl && Number.isNaN(0)) return' }], spec: 'test/mqtt5/shared-sessions.e2e-spec.ts', test: 'No Local on a shared subscription' },
  { name: 'shared subscriptions: a message to a $share/ topic name is not queued for the sessions that store shared subscriptions', edits: [{ file: 'lib/broker/aedes/shared/shared-sessions.persistence.ts', search: 'topic.startsWith(SHARE_PREFIX)) return found.then(withoutStoredShares);', replace: 'topic.startsWith(SHARE_PREFIX) && Number.isNaN(0)) return found.then(withoutStoredShares);' }], spec: 'test/mqtt5/shared-sessions.e2e-spec.ts', test: 'published to a' },
  { name: 'shared subscriptions: an instance taken for gone that speaks again gets the groups back in step', edits: [{ file: 'lib/broker/aedes/shared/shared-groups.ts', search: "operation[0] !== 'bye') this.greet();", replace: "operation[0] !== 'bye' && Number.isNaN(0)) this.greet();" }], spec: 'test/mqtt5/shared-cluster.e2e-spec.ts', test: 'stalled instance' },
  // The cluster's message bus (lib/cluster/message-batch.codec.ts): what another instance sends is read defensively.
  { name: 'acknowledgeAfterRouting: the QoS 1 PUBACK leaves once the message is routed (Aedes writes it first)', edits: [{ file: 'lib/broker/aedes/protocol/packet-writer.ts', search: "if (written.cmd === 'puback' && holdsPubacks(stream as object)) {", replace: "if (written.cmd === 'puback' && Number.isNaN(0)) {" }], spec: 'test/protocol/puback-after-routing.e2e-spec.ts', test: 'before it acknowledges' },
  { name: 'QoS 1: held PUBACKs leave in the order of their PUBLISHes [MQTT-4.6.0-2]', edits: [{ file: 'lib/broker/aedes/protocol/puback-after-routing.ts', search: '      held[i].routed = true;\n      break;', replace: '      held.splice(i, 1)[0].write();\n      return;' }], spec: 'test/protocol/puback-after-routing.e2e-spec.ts', test: 'routed first' },
  { name: 'cluster bus: a batch of another format is refused', edits: [{ file: 'lib/cluster/message-batch.codec.ts', search: 'if (batch.length < HEADER_FIXED || batch[0] !== BATCH_VERSION) {', replace: 'if (batch.length < HEADER_FIXED && Number.isNaN(0)) {' }], spec: 'test/cluster/message-bus.e2e-spec.ts', test: 'refuses a batch of another format' },
  { name: "cluster bus: a field named '__proto__' stays a field", edits: [{ file: 'lib/cluster/message-batch.codec.ts', search: "if (key === '__proto__') Object.defineProperty(target, key,", replace: "if (Number.isNaN(0)) Object.defineProperty(target, key," }], spec: 'test/cluster/message-bus.e2e-spec.ts', test: 'carries MQTT 5 properties' },
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

/** Every search string found exactly once in this tree; edits nothing. */
function checkSearchStrings() {
  let wrong = 0;
  for (const entry of PROTECTIONS) {
    for (const edit of entry.edits) {
      const count = readFileSync(edit.file, 'utf8').split(edit.search).length - 1;
      if (count !== 1) {
        wrong++;
        console.log(`FAIL ${entry.name}: "${edit.search.slice(0, 60)}…" found ${count} times in ${edit.file}`);
      }
    }
  }
  console.log(`${PROTECTIONS.length} protections, ${wrong} search strings not found exactly once`);
  if (wrong > 0) process.exitCode = 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === '--check') checkSearchStrings();
  else main();
}
