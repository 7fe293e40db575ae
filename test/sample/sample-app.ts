import 'reflect-metadata';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import { AppModule } from '../../sample/01-telemetry-dashboard/src/app.module.js';

export interface RunningSample {
  app: INestApplication;
  /** `http://127.0.0.1:<port>` */
  httpUrl: string;
  /** `ws://127.0.0.1:<port>/mqtt` */
  mqttUrl: string;
}

/** Boots the sample's AppModule as main.ts does, on a free loopback port and without the simulator. */
export async function startSample(logger: LoggerService | false = false): Promise<RunningSample> {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, httpUrl: `http://127.0.0.1:${port}`, mqttUrl: `ws://127.0.0.1:${port}/mqtt` };
}

/** A Nest logger that keeps what it is given, for asserting that something was logged. */
export class LogRecorder implements LoggerService {
  readonly entries: { level: string; message: string; context?: string }[] = [];

  log(message: unknown, context?: string) {
    this.record('log', message, context);
  }
  warn(message: unknown, context?: string) {
    this.record('warn', message, context);
  }
  error(message: unknown, ...rest: unknown[]) {
    this.record('error', message, rest.at(-1) as string | undefined);
  }
  debug(message: unknown, context?: string) {
    this.record('debug', message, context);
  }
  verbose(message: unknown, context?: string) {
    this.record('verbose', message, context);
  }

  messages(level: string): string[] {
    return this.entries.filter((entry) => entry.level === level).map((entry) => entry.message);
  }

  private record(level: string, message: unknown, context?: string) {
    this.entries.push({ level, message: String(message), context });
  }
}
