import type { ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';

/** The message the app's start-up (compile, then `init()`) fails with; fails itself when the app starts. */
export async function startupError(metadata: ModuleMetadata): Promise<string> {
  const moduleRef = await Test.createTestingModule(metadata)
    .compile()
    .catch((error: Error) => error);
  if (moduleRef instanceof Error) return moduleRef.message;
  const app = moduleRef.createNestApplication({ logger: false });
  try {
    await app.init();
  } catch (error) {
    return (error as Error).message;
  } finally {
    // The broker may exist by then: close the app so that its timers end.
    await app.close();
  }
  throw new Error('the app started');
}
