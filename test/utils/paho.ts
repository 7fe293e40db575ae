import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Debian installs python3-paho-mqtt for the system Python; another python3 on PATH may not have it. */
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./paho-mqtt5.py', import.meta.url));

/** What the Paho script reported, one object per line. */
export type PahoEvent = Record<string, unknown> & { event?: string; error?: string };

export interface PahoRun {
  /** Resolves once the script printed an event of this name. */
  waitForEvent(name: string): Promise<PahoEvent>;
  /** Resolves with every event once the script exited, and its exit code. */
  finished: Promise<{ code: number | null; events: PahoEvent[]; stderr: string }>;
}

/** Runs a scenario of test/utils/paho-mqtt5.py against `ws://host:port/path` (Paho Python, MQTT 5, over WebSocket). */
export function runPaho(scenario: string, url: string): PahoRun {
  const { hostname, port, pathname } = new URL(url);
  const child = spawn(PYTHON, [SCRIPT, scenario, hostname, port, pathname], { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: PahoEvent[] = [];
  const waiters: { name: string; resolve: (event: PahoEvent) => void }[] = [];
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    let newline: number;
    while ((newline = stdout.indexOf('\n')) >= 0) {
      const event = JSON.parse(stdout.slice(0, newline)) as PahoEvent;
      stdout = stdout.slice(newline + 1);
      events.push(event);
      for (const waiter of waiters.filter((candidate) => candidate.name === event.event)) waiter.resolve(event);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const finished = new Promise<{ code: number | null; events: PahoEvent[]; stderr: string }>((resolve) =>
    child.once('close', (code) => resolve({ code, events, stderr })),
  );
  return {
    finished,
    waitForEvent(name) {
      const seen = events.find((event) => event.event === name);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ name, resolve }));
    },
  };
}
