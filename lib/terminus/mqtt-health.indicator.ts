import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Injectable } from '@nestjs/common';
import { HttpAdapterHost, ModuleRef } from '@nestjs/core';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { MqttBroker } from '../broker/mqtt-broker.js';
import { MqttService } from '../mqtt.service.js';
import { MQTT_BROKER, MQTT_WS_RESOLVED_OPTIONS } from '../mqtt-ws.constants.js';
import type { ResolvedMqttWsOptions } from '../mqtt-ws-options.validator.js';

/** One MQTT endpoint, as the indicator reports it. */
export interface MqttListenerHealth {
  /** `ws://…/mqtt` or `wss://…/mqtt` while it listens; `null` when it does not. */
  url: string | null;
  up: boolean;
}

/**
 * A Terminus (v12) health indicator for the module: up while every MQTT listener listens and, in a
 * cluster (`redis`), while Redis is reachable; it reports the listeners, the connected clients and
 * the Redis status. Imported from `nestjs-mqtt-ws/terminus`, so that apps without
 * `@nestjs/terminus` never load it. Provide it beside `TerminusModule`:
 *
 * ```ts
 * @Controller('health')
 * class HealthController {
 *   constructor(private readonly health: HealthCheckService, private readonly mqtt: MqttHealthIndicator) {}
 *   @Get() @HealthCheck() check() { return this.health.check([() => this.mqtt.isHealthy('mqtt')]); }
 * }
 * ```
 */
@Injectable()
export class MqttHealthIndicator {
  constructor(
    private readonly healthIndicators: HealthIndicatorService,
    private readonly mqtt: MqttService,
    private readonly moduleRef: ModuleRef,
    private readonly httpAdapterHost: HttpAdapterHost,
  ) {}

  isHealthy<const Key extends string>(key: Key): HealthIndicatorResult<Key> {
    const indicator = this.healthIndicators.check(key);
    const options = this.moduleRef.get<ResolvedMqttWsOptions>(MQTT_WS_RESOLVED_OPTIONS, { strict: false });
    const broker = this.moduleRef.get<MqttBroker>(MQTT_BROKER, { strict: false });
    const listeners = [this.webSocketListener(options)];
    const health = this.mqtt.health();
    const data = {
      listeners,
      clients: broker.closed ? 0 : broker.connectedClients,
      redis: health.redis,
      ...(health.lastError === undefined ? {} : { redisError: health.lastError }),
    };
    const up = !broker.closed && listeners.every((listener) => listener.up) && health.redis !== 'down';
    return up ? indicator.up(data) : indicator.down(data);
  }

  /** The WebSocket endpoint: the dedicated port's server, or the app's own HTTP server. */
  private webSocketListener(options: ResolvedMqttWsOptions): MqttListenerHealth {
    const dedicated = options.port !== undefined;
    const server: Server | undefined = dedicated ? undefined : this.httpAdapterHost?.httpAdapter?.getHttpServer();
    const address = dedicated ? this.mqtt.dedicatedAddress() : server?.listening ? (server.address() as AddressInfo | null) : null;
    if (!address) return { url: null, up: false };
    const secure = dedicated ? options.tls !== undefined : server !== undefined && 'cert' in server;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return { url: `${secure ? 'wss' : 'ws'}://${host}:${address.port}${options.path}`, up: true };
  }
}
