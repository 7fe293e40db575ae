import 'reflect-metadata';
import {
  Catch,
  Injectable,
  NotFoundException,
  UseFilters,
  type ExceptionFilter,
  type INestApplication,
} from '@nestjs/common';
import { of, throwError } from 'rxjs';
import {
  MqttRequestTimeoutError,
  MqttResponseError,
  MqttService,
  MqttSubscribe,
  MqttWsModule,
  Params,
  Payload,
} from '../../lib/index.js';
import { startApp } from '../utils/app.js';
import { Deferred } from '../utils/deferred.js';
import { TestClient } from '../utils/mqtt-client.js';

class DeviceOffline extends Error {}

@Catch(DeviceOffline)
class OfflineAsValue implements ExceptionFilter {
  catch() {
    return { queued: true };
  }
}

@Catch(DeviceOffline)
class OfflineAsError implements ExceptionFilter {
  catch(error: DeviceOffline) {
    return new MqttResponseError(error.message, { code: 'offline' });
  }
}

@Catch(DeviceOffline)
class OfflineAsThrowError implements ExceptionFilter {
  catch(error: DeviceOffline) {
    return throwError(() => new MqttResponseError(error.message, { code: 'offline-rx' }));
  }
}

let plainCalls = 0;
const slowGate = new Deferred();

@Injectable()
class Calculator {
  @MqttSubscribe('rpc/add')
  add(@Payload() { a, b }: { a: number; b: number }) {
    plainCalls++;
    return { sum: a + b };
  }

  @MqttSubscribe('rpc/greet', { payloadFormat: 'text' })
  async greet(@Payload() name: string) {
    await Promise.resolve();
    return `hello ${name}`;
  }

  @MqttSubscribe('rpc/count')
  count() {
    return of(1, 2, 3);
  }

  @MqttSubscribe('rpc/bytes', { payloadFormat: 'buffer' })
  bytes(@Payload() bytes: Buffer) {
    return Buffer.from([...bytes].reverse());
  }

  @MqttSubscribe('rpc/nothing')
  nothing(@Payload() _: unknown) {
    return undefined;
  }

  /** Answers once the test opens the gate: longer than a request's timeout. */
  @MqttSubscribe('rpc/slow')
  async slow() {
    await slowGate.promise;
    return 'too late';
  }

  @MqttSubscribe('rpc/devices/:id')
  device(@Params('id') id: string) {
    throw new MqttResponseError(`no device ${id}`, { code: 'not-found', details: { id } });
  }

  @MqttSubscribe('rpc/http')
  http() {
    throw new NotFoundException('no such thing');
  }

  @MqttSubscribe('rpc/crash')
  crash() {
    throw new Error('secret internals');
  }

  @MqttSubscribe('rpc/filtered/value')
  @UseFilters(OfflineAsValue)
  filteredValue() {
    throw new DeviceOffline('d1 is offline');
  }

  @MqttSubscribe('rpc/filtered/error')
  @UseFilters(OfflineAsError)
  filteredError() {
    throw new DeviceOffline('d2 is offline');
  }

  @MqttSubscribe('rpc/filtered/rx')
  @UseFilters(OfflineAsThrowError)
  filteredRx() {
    throw new DeviceOffline('d3 is offline');
  }
}

describe('MQTT 5 request/response: handler return values answer, MqttService.request asks', () => {
  let app: INestApplication;
  let url: string;
  let mqtt: MqttService;

  beforeAll(async () => {
    ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot()], providers: [Calculator] }));
    mqtt = app.get(MqttService);
  });

  afterAll(async () => {
    await app.close();
  });

  it('answers with a value as JSON, a Promise, the last value of an Observable, and bytes as they are', async () => {
    expect(await mqtt.request('rpc/add', { a: 2, b: 3 })).toEqual({ sum: 5 });
    expect(await mqtt.request('rpc/greet', 'ada')).toBe('hello ada');
    expect(await mqtt.request('rpc/count', {})).toBe(3);
    const reversed = await mqtt.request<Buffer>('rpc/bytes', Buffer.from([1, 2, 3]));
    expect(Buffer.isBuffer(reversed)).toBe(true);
    expect([...reversed]).toEqual([3, 2, 1]);
  });

  it("publishes the answer to the response topic at the request's QoS; without a response topic, nothing", async () => {
    const observer = await TestClient.connect(url, { clientId: 'observer', protocolVersion: 4 });
    try {
      await observer.subscribe('replies/#', 1);
      const before = plainCalls;
      // Without a response topic, the return value goes nowhere (today's behaviour).
      await mqtt.publish('rpc/add', { a: 1, b: 1 }, { qos: 1 });
      await mqtt.publish('rpc/add', { a: 4, b: 4 }, { qos: 1, properties: { responseTopic: 'replies/one', correlationData: 'req-1' } });
      const [answer] = await observer.waitFor(1, 'replies/one');
      expect(plainCalls).toBe(before + 2);
      expect(observer.received()).toHaveLength(1);
      expect(JSON.parse(answer.payload.toString())).toEqual({ sum: 8 });
      expect(answer.packet.qos).toBe(1);
    } finally {
      await observer.end();
    }
  });

  it('publishes nothing for undefined: the request times out', async () => {
    const error = await mqtt.request('rpc/nothing', {}, { timeout: 200 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MqttRequestTimeoutError);
    expect((error as Error).message).toBe('MqttService.request: no response to the request on "rpc/nothing" within 200 ms');
  });

  it('times out a request whose in-process handler is still running, without an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      const request = mqtt.request('rpc/slow', {}, { timeout: 20 }).catch((caught: unknown) => caught);
      // The gate opens only after the timeout fired: the time the request is given, not the test's.
      setTimeout(() => slowGate.resolve(), 100);
      expect(await request).toBeInstanceOf(MqttRequestTimeoutError);
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
    }
  });

  it('answers a thrown MqttResponseError as an error response, with its code and details', async () => {
    const error = await mqtt.request('rpc/devices/d9', {}).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MqttResponseError);
    expect(error).toMatchObject({ message: 'no device d9', code: 'not-found', details: { id: 'd9' } });
  });

  it('answers an HttpException with its status, and any other exception as internal without its message', async () => {
    await expect(mqtt.request('rpc/http', {})).rejects.toMatchObject({ code: '404', message: 'no such thing' });
    const crash = await mqtt.request('rpc/crash', {}).catch((caught: unknown) => caught);
    expect(crash).toMatchObject({ code: 'internal', message: 'Internal server error' });
    expect(JSON.stringify(crash)).not.toContain('secret');
  });

  it("answers with an exception filter's value, its MqttResponseError, or its throwError Observable", async () => {
    expect(await mqtt.request('rpc/filtered/value', {})).toEqual({ queued: true });
    await expect(mqtt.request('rpc/filtered/error', {})).rejects.toMatchObject({ code: 'offline', message: 'd2 is offline' });
    await expect(mqtt.request('rpc/filtered/rx', {})).rejects.toMatchObject({ code: 'offline-rx', message: 'd3 is offline' });
  });

  it('answers a payload that is not JSON with an invalid-payload error', async () => {
    await expect(mqtt.request('rpc/add', Buffer.from('{oops'))).rejects.toMatchObject({ code: 'invalid-payload' });
  });

  it('rejects request options it does not know, and the properties it sets itself', async () => {
    await expect(mqtt.request('rpc/add', {}, { timout: 5 } as never)).rejects.toThrow("MqttService.request: unknown option 'timout'");
    await expect(mqtt.request('rpc/add', {}, { properties: { responseTopic: 'x' } } as never)).rejects.toThrow(
      'properties.responseTopic is set by request itself',
    );
    await expect(mqtt.request('rpc/add', {}, { timeout: 0 })).rejects.toThrow('timeout must be a positive integer');
  });
});
