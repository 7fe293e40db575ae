import { Injectable } from '@nestjs/common';
import type { MqttHealth, MqttRedisStatusEvent } from '../interfaces/mqtt-health.interface.js';

type Listener = (event: MqttRedisStatusEvent) => void;

/**
 * This instance's Redis status, one per module: `RedisConnections` reports into it, `MqttService.health()`
 * reads it and the event dispatcher turns its changes into `redis.down` / `redis.up`. It lives outside
 * the broker so that it can be read before the broker exists and after it closed.
 */
@Injectable()
export class MqttRedisHealth {
  private state: MqttHealth = { redis: 'disabled', since: new Date() };
  private readonly listeners = new Set<Listener>();

  snapshot(): MqttHealth {
    return { ...this.state, since: new Date(this.state.since) };
  }

  /** Only changes are reported: the first `up` (start-up) has no listener yet, and a repeated one is ignored. */
  markUp(): void {
    if (this.state.redis === 'up') return;
    this.change({ redis: 'up', since: new Date() });
  }

  markDown(error?: Error): void {
    if (this.state.redis === 'down') return;
    this.change({ redis: 'down', since: new Date(), ...(error ? { lastError: error.message } : {}) });
  }

  /** A later error of the same outage (each failed reconnection) updates the reason without an event. */
  noteError(error: Error): void {
    if (this.state.redis === 'down') this.state = { ...this.state, lastError: error.message };
  }

  onChange(listener: Listener): void {
    this.listeners.add(listener);
  }

  private change(state: MqttRedisStatusEvent): void {
    this.state = state;
    for (const listener of this.listeners) listener({ ...state, since: new Date(state.since) });
  }
}
