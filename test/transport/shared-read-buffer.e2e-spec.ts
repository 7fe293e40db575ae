import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import type { Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { MqttWsModule, type MqttAuthPolicy } from '../../lib/index.js';
import { MqttWsListener } from '../../lib/transport/mqtt-ws.listener.js';
import { readsThroughSharedBuffer } from '../../lib/transport/shared-read-buffer.js';
import { TestClient } from '../utils/mqtt-client.js';
import { packetsOf, RawWebSocket } from '../utils/raw-websocket.js';
import { RecordingLogger, rawSocket, startTcpApp } from './tcp-utils.js';

/**
 * Plain TCP sockets read into one buffer shared by every connection (docs/design.md, "Reads into
 * one shared buffer"): whatever the server keeps of a read past it must be a copy. Each test cuts
 * something between two reads of one connection and has another connection's read land in between,
 * which overwrites the shared buffer: a frame header, a ping's payload, an MQTT packet.
 */
const BINARY = 0x2;
const PING = 0x9;
const PONG = 0xa;

const encode = (packet: Record<string, unknown>) => mqttPacket.generate(packet as unknown as Packet);
const connectPacket = (clientId: string) => encode({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 0 });
const PINGREQ = encode({ cmd: 'pingreq' });
/** A payload no other read of these tests holds, so that bytes of another read cannot pass for it. */
const PAYLOAD = Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 7 + 13) & 0xff));


/** A burst far larger than a connection's readable buffer (64 KiB): QoS 0 PUBLISHes of 1 KiB, numbered in their payloads. */
const BURST_MESSAGES = 2000;
function burstPackets(topic: string): Buffer[] {
  return Array.from({ length: BURST_MESSAGES }, (_, i) => {
    const payload = Buffer.alloc(1024, i & 0xff);
    payload.writeUInt32BE(i, 0);
    return encode({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false });
  });
}

/** Holds every PUBLISH at its authorization while held: the broker then reads no further than its buffers allow. */
class PublishGate implements MqttAuthPolicy {
  private held: Promise<void> | undefined;
  private open: (() => void) | undefined;

  authorizePublish(): boolean | Promise<boolean> {
    return this.held === undefined ? true : this.held.then(() => true);
  }

  hold(): void {
    this.held = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.held = undefined;
    this.open?.();
  }
}

/** The burst arrives whole and in order once the gate opens. */
async function expectWholeBurst(subscriber: TestClient, topic: string): Promise<void> {
  const received = await subscriber.waitFor(BURST_MESSAGES, topic);
  expect(received.map((message) => message.payload.readUInt32BE(0))).toEqual(Array.from({ length: BURST_MESSAGES }, (_, i) => i));
}

/** Two readable buffers' worth: the 64 KiB the stream holds, and the one read (at most 64 KiB) that took it past that. */
const MOST_HELD = 2 * 64 * 1024;

/** A WebSocket peer past its CONNACK. */
async function connectedPeer(port: number, clientId: string): Promise<RawWebSocket> {
  const peer = await RawWebSocket.open(port);
  peer.write(RawWebSocket.frame(BINARY, connectPacket(clientId)));
  const [connack] = packetsOf(await peer.waitForFrames(1));
  expect(connack).toMatchObject({ cmd: 'connack', returnCode: 0 });
  return peer;
}

/**
 * A read of another connection, done: its PINGRESP came back, so the server has read it, and read
 * before it whatever the other peer had written earlier (one poll phase reads every ready socket,
 * and answers leave at the turn's end).
 */
async function interposeWebSocketRead(other: RawWebSocket): Promise<void> {
  const seen = other.frames.length;
  other.write(RawWebSocket.frame(BINARY, PINGREQ));
  expect(packetsOf((await other.waitForFrames(seen + 1)).slice(seen))[0]).toMatchObject({ cmd: 'pingresp' });
}

describe('transport: reads into one shared buffer', () => {
  it('has the hooks it needs on this Node, and says nothing about them at start-up', async () => {
    expect(readsThroughSharedBuffer()).toBe(true);
    const logger = new RecordingLogger();
    const { app } = await startTcpApp({ imports: [MqttWsModule.forRoot({})] }, logger);
    try {
      expect(logger.lines.some((line) => line.includes('read hooks'))).toBe(false);
      expect(logger.lines.some((line) => line.includes('MQTT over WebSocket'))).toBe(true);
    } finally {
      await app.close();
    }
  });

  describe('WebSocket', () => {
    let app: INestApplication;
    let port: number;
    let url: string;
    let other: RawWebSocket;
    let subscriber: TestClient;
    const gate = new PublishGate();

    beforeAll(async () => {
      const started = await startTcpApp({ imports: [MqttWsModule.forRoot({ auth: { useValue: gate } })] });
      app = started.app;
      url = started.ws!;
      port = Number(new URL(url).port);
      other = await connectedPeer(port, 'interposer');
      subscriber = await TestClient.connect(url, { clientId: 'lent-subscriber' });
      await subscriber.subscribe('lent/#', 0);
    });

    afterAll(async () => {
      other.destroy();
      await subscriber.end();
      await app.close();
    });

    it('keeps a frame header cut between two reads', async () => {
      const peer = await RawWebSocket.open(port);
      const frame = RawWebSocket.frame(BINARY, connectPacket('cut-header'));
      // Two bytes and one of the mask: too short for the six-byte header, kept for the next read.
      peer.write(frame.subarray(0, 3));
      await interposeWebSocketRead(other);
      peer.write(frame.subarray(3));
      const [connack] = packetsOf(await peer.waitForFrames(1));
      expect(connack).toMatchObject({ cmd: 'connack', returnCode: 0 });
      peer.destroy();
    });

    it("keeps a ping's payload cut between two reads, and answers with all of it", async () => {
      const peer = await connectedPeer(port, 'cut-ping');
      const payload = PAYLOAD.subarray(0, 100);
      const frame = RawWebSocket.frame(PING, payload);
      peer.write(frame.subarray(0, 6 + 40));
      await interposeWebSocketRead(other);
      peer.write(frame.subarray(6 + 40));
      const frames = await peer.waitForFrames(2);
      expect(frames[1].opcode).toBe(PONG);
      expect(frames[1].payload.equals(payload)).toBe(true);
      peer.destroy();
    });

    it('keeps a PUBLISH cut between two reads, inside one frame, and delivers its payload intact', async () => {
      const peer = await connectedPeer(port, 'cut-publish');
      const frame = RawWebSocket.frame(BINARY, encode({ cmd: 'publish', topic: 'lent/ws', payload: PAYLOAD, qos: 0, retain: false, dup: false }));
      peer.write(frame.subarray(0, 60));
      await interposeWebSocketRead(other);
      peer.write(frame.subarray(60));
      await subscriber.waitFor(1, 'lent/ws');
      expect(subscriber.received('lent/ws')[0].payload.equals(PAYLOAD)).toBe(true);
      peer.destroy();
    });

    it('stops reading a peer that sends faster than the broker parses, and reads on: a 2 MiB burst arrives whole and in order', async () => {
      const peer = await connectedPeer(port, 'ws-burst');
      gate.hold();
      peer.write(Buffer.concat(burstPackets('lent/ws-burst').map((packet) => RawWebSocket.frame(BINARY, packet))));
      await interposeWebSocketRead(other);
      const held = app.get(MqttWsListener).transportStats.readableBytes;
      gate.release();
      await expectWholeBurst(subscriber, 'lent/ws-burst');
      expect(held).toBeGreaterThan(0);
      expect(held).toBeLessThanOrEqual(MOST_HELD);
      peer.destroy();
    });
  });

  describe('TCP listener', () => {
    let app: INestApplication;
    let mqttUrl: string;
    let subscriber: TestClient;
    const gate = new PublishGate();

    beforeAll(async () => {
      const started = await startTcpApp({ imports: [MqttWsModule.forRoot({ tcp: { port: 0, host: '127.0.0.1' }, auth: { useValue: gate } })] });
      app = started.app;
      mqttUrl = started.mqtt!;
      subscriber = await TestClient.connect(started.ws!, { clientId: 'lent-tcp-subscriber' });
      await subscriber.subscribe('lent/#', 0);
    });

    afterAll(async () => {
      await subscriber.end();
      await app.close();
    });

    /** A raw MQTT peer on TCP past its CONNACK, with what the server sent it so far. */
    async function connectedTcpPeer(clientId: string): Promise<{ socket: Socket; next: () => Promise<Packet> }> {
      const socket = await rawSocket(mqttUrl);
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      const packets: Packet[] = [];
      let waiting: (() => void) | undefined;
      parser.on('packet', (packet: Packet) => {
        packets.push(packet);
        waiting?.();
      });
      socket.on('data', (chunk: Buffer) => parser.parse(chunk));
      const next = async () => {
        while (packets.length === 0) await new Promise<void>((resolve) => (waiting = resolve));
        return packets.shift()!;
      };
      socket.write(connectPacket(clientId));
      expect(await next()).toMatchObject({ cmd: 'connack', returnCode: 0 });
      return { socket, next };
    }

    it('keeps a PUBLISH cut between two reads and delivers its payload intact', async () => {
      const publisher = await connectedTcpPeer('tcp-cut-publish');
      const interposer = await connectedTcpPeer('tcp-interposer');
      const publish = encode({ cmd: 'publish', topic: 'lent/tcp', payload: PAYLOAD, qos: 0, retain: false, dup: false });
      publisher.socket.write(publish.subarray(0, 50));
      interposer.socket.write(PINGREQ);
      expect(await interposer.next()).toMatchObject({ cmd: 'pingresp' });
      publisher.socket.write(publish.subarray(50));
      await subscriber.waitFor(1, 'lent/tcp');
      expect(subscriber.received('lent/tcp')[0].payload.equals(PAYLOAD)).toBe(true);
      publisher.socket.destroy();
      interposer.socket.destroy();
    });

    it('stops reading a peer that sends faster than the broker parses, and reads on: a 2 MiB burst arrives whole and in order', async () => {
      const publisher = await connectedTcpPeer('tcp-burst');
      const interposer = await connectedTcpPeer('tcp-burst-interposer');
      gate.hold();
      publisher.socket.write(Buffer.concat(burstPackets('lent/tcp-burst')));
      interposer.socket.write(PINGREQ);
      expect(await interposer.next()).toMatchObject({ cmd: 'pingresp' });
      const held = app.get(MqttWsListener).transportStats.readableBytes;
      gate.release();
      await expectWholeBurst(subscriber, 'lent/tcp-burst');
      expect(held).toBeGreaterThan(0);
      expect(held).toBeLessThanOrEqual(MOST_HELD);
      publisher.socket.destroy();
      interposer.socket.destroy();
    });
  });
});
