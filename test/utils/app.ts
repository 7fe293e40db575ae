import type { INestApplication, Type, DynamicModule, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';

/** Boots a Nest app on a free loopback port and returns it with its MQTT WebSocket URL. */
export async function startApp(
  metadata: ModuleMetadata,
  configure?: (app: INestApplication) => void | Promise<void>,
  path = '/mqtt',
): Promise<{ app: INestApplication; url: string; port: number }> {
  const moduleRef = await Test.createTestingModule(metadata).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await configure?.(app);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, url: `ws://127.0.0.1:${port}${path}`, port };
}

export type ModuleImport = Type | DynamicModule;

/** One app for the whole suite: started before its first test, closed after its last; read `app`/`url` in the tests. */
export function appForSuite(metadata: ModuleMetadata): { readonly app: INestApplication; readonly url: string } {
  const suite = {} as { app: INestApplication; url: string };
  beforeAll(async () => {
    Object.assign(suite, await startApp(metadata));
  });
  afterAll(async () => {
    await suite.app?.close();
  });
  return suite;
}
