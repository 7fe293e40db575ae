import 'reflect-metadata';
import {
  Catch,
  Injectable,
  UseFilters,
  UseGuards,
  UseInterceptors,
  ValidationPipe,
  type ArgumentsHost,
  type CallHandler,
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
  type INestApplication,
  type NestInterceptor,
  type PipeTransform,
} from '@nestjs/common';
import { IsNumber, Max } from 'class-validator';
import { tap } from 'rxjs';
import { getMqttContext, MqttSubscribe, MqttWsModule, Params, Payload, type MqttContext } from '../lib/index.js';
import { startApp } from './utils/app.js';
import { Collector } from './utils/deferred.js';
import { TestClient } from './utils/mqtt-client.js';

class ReadingDto {
  @IsNumber()
  @Max(1000)
  celsius!: number;
}

const calls = {
  validated: new Collector<unknown>(),
  guarded: new Collector<string>(),
  guardSaw: new Collector<{ type: string; topic: string | undefined; data: unknown }>(),
  intercepted: new Collector<string>(),
  piped: new Collector<unknown>(),
  filtered: new Collector<string>(),
  transformedParam: new Collector<unknown>(),
  afterFailure: new Collector<string>(),
};

@Injectable()
class OnlyFromTrustedClients implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const mqtt = getMqttContext(context);
    calls.guardSaw.push({ type: context.getType(), topic: mqtt?.topic, data: context.switchToRpc().getData() });
    return mqtt?.clientId === 'trusted';
  }
}

@Injectable()
class RecordAfterHandler implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler) {
    const topic = context.switchToRpc().getContext<MqttContext>().topic;
    return next.handle().pipe(tap(() => calls.intercepted.push(`after ${topic}`)));
  }
}

class Uppercase implements PipeTransform {
  transform(value: unknown) {
    return String(value).toUpperCase();
  }
}

@Catch()
class RecordingFilter implements ExceptionFilter {
  catch(exception: Error, host: ArgumentsHost) {
    calls.filtered.push(`${host.getType()}: ${exception.message}`);
  }
}

@Injectable()
class PipelineHandlers {
  @MqttSubscribe('validated')
  onValidated(@Payload() reading: ReadingDto) {
    calls.validated.push(reading);
  }

  @UseGuards(OnlyFromTrustedClients)
  @MqttSubscribe('guarded')
  onGuarded(@Payload() value: string) {
    calls.guarded.push(value);
  }

  @UseInterceptors(RecordAfterHandler)
  @MqttSubscribe('intercepted/+')
  onIntercepted() {
    calls.intercepted.push('handler');
  }

  @MqttSubscribe('piped', { payloadFormat: 'text' })
  onPiped(@Payload(new Uppercase()) value: string) {
    calls.piped.push(value);
  }

  @MqttSubscribe('params/:count')
  onParams(@Params('count') count: number) {
    calls.transformedParam.push(count);
  }

  @UseFilters(RecordingFilter)
  @MqttSubscribe('filtered')
  onFiltered() {
    throw new Error('boom');
  }

  @MqttSubscribe('throws')
  onThrows() {
    throw new Error('handler failure');
  }

  @MqttSubscribe('rejects')
  async onRejects() {
    throw new Error('async handler failure');
  }

  @MqttSubscribe(['throws', 'rejects', 'after'])
  onSameTopics(@Payload() value: string) {
    calls.afterFailure.push(value);
  }
}

describe('the Nest pipeline on MQTT handlers', () => {
  let app: INestApplication;
  let url: string;
  let trusted: TestClient;
  let stranger: TestClient;

  beforeAll(async () => {
    ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot()], providers: [PipelineHandlers] }, (app) => {
      app.useGlobalPipes(new ValidationPipe({ transform: true }));
    }));
    trusted = await TestClient.connect(url, { clientId: 'trusted' });
    stranger = await TestClient.connect(url, { clientId: 'stranger' });
  });

  afterAll(async () => {
    await Promise.all([trusted.end(), stranger.end()]);
    await app.close();
  });

  it('validates DTO payloads with a global ValidationPipe and rejects invalid ones before the handler', async () => {
    await trusted.publish('validated', { celsius: 'hot' }, { qos: 1 });
    await trusted.publish('validated', { celsius: 5000 }, { qos: 1 });
    await trusted.publish('validated', { celsius: 21.5 }, { qos: 1 });
    const [first] = await calls.validated.waitFor(1);
    // Only the valid reading arrives, transformed into the DTO class.
    expect(first).toBeInstanceOf(ReadingDto);
    expect(first).toEqual({ celsius: 21.5 });
    expect(calls.validated.items).toHaveLength(1);
  });

  it('runs guards with an "mqtt" execution context and skips the handler when one refuses', async () => {
    await stranger.publish('guarded', '"from stranger"', { qos: 1 });
    await trusted.publish('guarded', '"from trusted"', { qos: 1 });
    expect(await calls.guarded.waitFor(1)).toEqual(['from trusted']);
    const seen = await calls.guardSaw.waitFor(2);
    expect(seen[0]).toEqual({ type: 'mqtt', topic: 'guarded', data: 'from stranger' });
  });

  it('runs interceptors around the handler', async () => {
    await trusted.publish('intercepted/x', '1', { qos: 1 });
    expect(await calls.intercepted.waitFor(2)).toEqual(['handler', 'after intercepted/x']);
  });

  it('applies parameter pipes, and global pipes transform named params', async () => {
    await trusted.publish('piped', 'shout', { qos: 1 });
    await trusted.publish('params/42', '', { qos: 1 });
    expect(await calls.piped.waitFor(1)).toEqual(['SHOUT']);
    expect(await calls.transformedParam.waitFor(1)).toEqual([42]);
  });

  it('hands handler exceptions to exception filters', async () => {
    await trusted.publish('filtered', '1', { qos: 1 });
    expect(await calls.filtered.waitFor(1)).toEqual(['mqtt: boom']);
  });

  it('keeps a handler failure to itself: other handlers run, the client stays connected, the broker serves on', async () => {
    await trusted.subscribe('after', 1);
    await trusted.publish('throws', '"a"', { qos: 1 });
    await trusted.publish('rejects', '"b"', { qos: 2 });
    await trusted.publish('after', '"c"', { qos: 1 });
    expect(await calls.afterFailure.waitFor(3)).toEqual(['a', 'b', 'c']);
    expect((await trusted.waitFor(1, 'after'))[0].payload.toString()).toBe('"c"');
    expect(trusted.client.connected).toBe(true);
  });
});
