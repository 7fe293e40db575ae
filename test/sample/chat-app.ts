import 'reflect-metadata';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { IClientOptions } from 'mqtt';
import type { AddressInfo } from 'node:net';
import { AppModule } from '../../sample/02-chat/src/app.module.js';
import { TestClient } from '../utils/mqtt-client.js';

/** The demo users of sample 02 and their passwords, as its docs list them. */
export const PASSWORDS = { alice: 'wonderland', bob: 'builder', carol: 'singer' } as const;
export type DemoUser = keyof typeof PASSWORDS;

export interface RunningChat {
  app: INestApplication;
  /** `http://127.0.0.1:<port>` */
  httpUrl: string;
  /** `ws://127.0.0.1:<port>/mqtt` */
  mqttUrl: string;
}

/** Boots the chat's AppModule as main.ts does, on a free loopback port. */
export async function startChat(logger: LoggerService | false = false): Promise<RunningChat> {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, httpUrl: `http://127.0.0.1:${port}`, mqttUrl: `ws://127.0.0.1:${port}/mqtt` };
}

/** Signs in over HTTP as the page does; returns the `Cookie` header value a browser would send. */
export async function signIn(chat: RunningChat, user: DemoUser): Promise<string> {
  const response = await fetch(`${chat.httpUrl}/api/session`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user, password: PASSWORDS[user] }),
  });
  if (response.status !== 200) throw new Error(`sign-in of ${user} answered ${response.status}`);
  return response.headers.get('set-cookie')!.split(';')[0];
}

export async function joinRoom(chat: RunningChat, cookie: string, room: string, action: 'join' | 'leave' = 'join'): Promise<Response> {
  return fetch(`${chat.httpUrl}/api/rooms/${room}/${action}`, { method: 'POST', headers: { cookie } });
}

let clients = 0;

/** An MQTT.js client whose WebSocket handshake carries `cookie`, as the browser's does. */
export function connectWithCookie(chat: RunningChat, user: string, cookie: string | undefined, options: IClientOptions = {}): Promise<TestClient> {
  return TestClient.connect(chat.mqttUrl, {
    clientId: `${user}-test${++clients}`,
    wsOptions: cookie ? { headers: { cookie } } : {},
    ...options,
  });
}
