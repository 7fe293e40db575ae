import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { MqttHealth } from '../../../lib/index.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const START_TIMEOUT = 30_000;

export type HandlerCounts = Record<'cluster' | 'instance', Record<string, number>>;

/** `MqttHealth` as it crosses the IPC channel: JSON, so `since` is an ISO string. */
export type InstanceHealth = Omit<MqttHealth, 'since'> & { since: string };

interface InstanceMessage {
  type: 'ready' | 'reply' | 'log' | 'fatal' | 'event';
  id?: number;
  port?: number;
  brokerId?: string;
  level?: string;
  message?: string;
  [key: string]: unknown;
}

/** Every instance a test file started, so that `killAllInstances` can end them whatever happened. */
const started = new Set<InstanceProcess>();

/**
 * One app instance (test/cluster/fixtures/cluster-instance.ts) in a child process, with its MQTT URL,
 * its log lines, and requests to it over IPC.
 */
export class InstanceProcess {
  readonly logs: string[] = [];
  /** The instance's `@OnMqttEvent('redis.*')` events, in order. */
  readonly events: { event: string; health: InstanceHealth }[] = [];
  port = 0;
  brokerId = '';
  private nextId = 0;
  private readonly pending = new Map<number, (reply: InstanceMessage) => void>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (message: InstanceMessage) => {
      if (message.type === 'log') this.logs.push(`[${message.level}] ${message.message}`);
      if (message.type === 'reply') this.pending.get(message.id!)?.(message);
      if (message.type === 'event') this.events.push({ event: message.event as string, health: message.health as InstanceHealth });
    });
    child.stderr!.on('data', (chunk: Buffer) => this.logs.push(`[stderr] ${chunk.toString().trimEnd()}`));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  static async start(name: string, redisUrl: string, keyPrefix: string, env: Record<string, string> = {}): Promise<InstanceProcess> {
    const child = fork(`${FIXTURES}cluster-instance.ts`, [], {
      execArgv: ['--import', `${FIXTURES}register-ts.mjs`],
      env: { ...process.env, REDIS_URL: redisUrl, KEY_PREFIX: keyPrefix, INSTANCE_NAME: name, ...env },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const instance = new InstanceProcess(name, child);
    started.add(instance);
    void instance.exited.then(() => started.delete(instance));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start in ${START_TIMEOUT} ms:\n${instance.logs.join('\n')}`)), START_TIMEOUT);
      child.on('message', (message: InstanceMessage) => {
        if (message.type === 'ready') {
          instance.port = message.port!;
          instance.brokerId = message.brokerId!;
          clearTimeout(timer);
          resolve();
        } else if (message.type === 'fatal') {
          clearTimeout(timer);
          reject(new Error(`${name} failed to start: ${message.message}\n${instance.logs.join('\n')}`));
        }
      });
      void instance.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${instance.logs.join('\n')}`));
      });
    });
    return instance;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/mqtt`;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  counts(): Promise<HandlerCounts> {
    return this.request({ cmd: 'counts' }).then((reply) => reply.counts as HandlerCounts);
  }

  /** `MqttService.health()` on this instance. */
  health(): Promise<InstanceHealth> {
    return this.request({ cmd: 'health' }).then((reply) => reply.health as InstanceHealth);
  }

  /** The shared subscription groups as this instance sees them: group key → sorted online and offline client ids. */
  sharedMembers(): Promise<Record<string, { online: string[]; offline: string[] }>> {
    return this.request({ cmd: 'sharedMembers' }).then((reply) => reply.members as Record<string, { online: string[]; offline: string[] }>);
  }

  /** Resolves once the instance has raised `event` `count` times in all; bounded polling. */
  async waitForEvent(event: string, count = 1, timeout = 15_000): Promise<void> {
    const seen = () => this.events.filter((entry) => entry.event === event).length >= count;
    await pollUntil(seen, timeout, `${this.name} to raise ${event}${count > 1 ? ` ${count} times` : ''}`);
  }

  /** `MqttService.publish` on this instance. */
  async publish(topic: string, payload: string, qos: 0 | 1 | 2 = 0): Promise<void> {
    const reply = await this.request({ cmd: 'publish', topic, payload, qos });
    if (reply.error) throw new Error(String(reply.error));
  }

  /** `MqttService.request` on this instance, with a JSON body; resolves with the answer. */
  async mqttRequest(topic: string, body: unknown): Promise<unknown> {
    const reply = await this.request({ cmd: 'request', topic, payload: JSON.stringify(body) });
    if (reply.error) throw new Error(String(reply.error));
    return reply.answer;
  }

  /** Resolves once a log line contains `text`; bounded polling. */
  async waitForLog(text: string, timeout = 15_000): Promise<void> {
    await pollUntil(() => this.logs.some((line) => line.includes(text)), timeout, `${this.name} to log "${text}"`);
  }

  /** SIGKILL: no shutdown hook runs, the clients' sockets just drop. */
  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGSTOP: the process stalls (as in a long pause of its event loop) until `resume`. */
  suspend(): void {
    if (this.alive) this.child.kill('SIGSTOP');
  }

  resume(): void {
    if (this.alive) this.child.kill('SIGCONT');
  }

  /** SIGTERM: the app's graceful shutdown. */
  async terminate(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.alive) this.child.kill('SIGTERM');
    return this.exited;
  }

  private request(body: object): Promise<InstanceMessage> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (reply) => {
        this.pending.delete(id);
        resolve(reply);
      });
      this.child.send({ id, ...body }, (error) => error && reject(error));
    });
  }
}

/** SIGKILLs every instance still running; for afterAll. */
export async function killAllInstances(): Promise<void> {
  await Promise.all([...started].map((instance) => instance.kill()));
}

/** Polls a condition every 25 ms until it holds; fails with `what` after `timeout` ms. */
export async function pollUntil(condition: () => boolean | Promise<boolean>, timeout: number, what: string): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
