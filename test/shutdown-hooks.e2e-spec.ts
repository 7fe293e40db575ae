import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { TestClient } from './utils/mqtt-client.js';

// Runs the built package (`npm test` builds it first) in its own process, as an app would.
describe('enableShutdownHooks', () => {
  it('ends MQTT connections and exits on SIGTERM with clients connected', async () => {
    const child = spawn(process.execPath, ['test/fixtures/sigterm-app.mjs'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = once(child, 'exit');
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    const port = Number(line.toString().trim());
    const clients = await Promise.all([1, 2].map(() => TestClient.connect(`ws://127.0.0.1:${port}/mqtt`)));
    const closed = clients.map((client) => new Promise<void>((resolve) => client.client.once('close', () => resolve())));
    child.kill('SIGTERM');
    const [code, signal] = await exited;
    await Promise.all(closed);
    // Nest re-raises the signal once its hooks finished.
    expect(signal === 'SIGTERM' || code === 0).toBe(true);
    await Promise.all(clients.map((client) => client.end(true)));
  });
});
