import 'reflect-metadata';
import {
  Catch,
  createParamDecorator,
  Injectable,
  Module,
  UseFilters,
  UseGuards,
  UseInterceptors,
  UsePipes,
  type ArgumentMetadata,
  type ArgumentsHost,
  type CallHandler,
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
  type INestApplication,
  type NestInterceptor,
  type PipeTransform,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { tap } from 'rxjs';
import { getMqttContext, MqttSubscribe, MqttWsModule, Params, Payload, Topic } from '../lib/index.js';
import { startApp } from './utils/app.js';
import { Collector } from './utils/deferred.js';
import { TestClient } from './utils/mqtt-client.js';

/**
 * Every enhancer here is given as a class and depends on `Trail`: it only works if the app's
 * injector built it. A class the injector did not build would have no `trail` (and throw), and a
 * class pipe the pipes context does not find is dropped without a word (issue 11, item 6).
 */
@Injectable()
class Trail {
  readonly suffix = 'di';
  readonly entries = new Collector<string>();
  record(entry: string): void {
    this.entries.push(entry);
  }
}

/** The repro: a class pipe whose `transform` appends to the value. */
@Injectable()
class TagClassPipe implements PipeTransform {
  constructor(private readonly trail: Trail) {}
  transform(value: unknown) {
    return `${String(value)}+${this.trail.suffix}`;
  }
}

/** 'global' comes through APP_* providers, 'app' through app.useGlobalX() with instances. */
type Level = 'global' | 'app' | 'class' | 'method' | 'param';

class LevelError extends Error {
  constructor(readonly level: Level) {
    super(`thrown for the ${level} filter`);
  }
}
class GlobalError extends LevelError {}
class ClassError extends LevelError {}
class MethodError extends LevelError {}

function levelGuard(level: Level) {
  @Injectable()
  class LevelGuard implements CanActivate {
    constructor(readonly trail: Trail) {}
    canActivate(context: ExecutionContext): boolean {
      this.trail.record(`guard:${level}`);
      return context.switchToRpc().getData() !== `deny:${level}`;
    }
  }
  return LevelGuard;
}

function levelInterceptor(level: Level) {
  @Injectable()
  class LevelInterceptor implements NestInterceptor {
    constructor(readonly trail: Trail) {}
    intercept(context: ExecutionContext, next: CallHandler) {
      this.trail.record(`before:${level}`);
      return next.handle().pipe(tap(() => this.trail.record(`after:${level}`)));
    }
  }
  return LevelInterceptor;
}

/** Appends its level to the payload (Nest's 'body' type), and leaves the other parameters alone. */
function levelPipe(level: Level) {
  @Injectable()
  class LevelPipe implements PipeTransform {
    constructor(readonly trail: Trail) {}
    transform(value: unknown, metadata: ArgumentMetadata) {
      return metadata.type === 'body' ? `${String(value)}|${level}:${this.trail.suffix}` : value;
    }
  }
  return LevelPipe;
}

function levelFilter(level: Level, type: typeof LevelError) {
  @Catch(type)
  class LevelFilter implements ExceptionFilter {
    constructor(readonly trail: Trail) {}
    catch(exception: LevelError, host: ArgumentsHost) {
      this.trail.record(`filter:${level} caught ${exception.level} in ${getMqttContext(host)?.topic}`);
      return null;
    }
  }
  return LevelFilter;
}

const thrown: Record<string, typeof LevelError> = { global: GlobalError, class: ClassError, method: MethodError };

@UseGuards(levelGuard('class'))
@UseInterceptors(levelInterceptor('class'))
@UsePipes(levelPipe('class'))
@UseFilters(levelFilter('class', ClassError))
@Injectable()
class LevelsHandler {
  constructor(private readonly trail: Trail) {}

  @UseGuards(levelGuard('method'))
  @UseInterceptors(levelInterceptor('method'))
  @UsePipes(levelPipe('method'))
  @UseFilters(levelFilter('method', MethodError))
  @MqttSubscribe('levels', { payloadFormat: 'text' })
  onLevels(@Payload(levelPipe('param')) value: string, @Topic() topic: string) {
    const [command] = value.split('|');
    if (command.startsWith('throw:')) throw new thrown[command.slice('throw:'.length)](command.slice(6) as Level);
    this.trail.record(`handler:${topic}:${value}`);
  }
}

/** A custom parameter decorator sees the 'mqtt' context and the decoded payload. */
const Sender = createParamDecorator(
  (prefix: string, context: ExecutionContext) =>
    `${prefix}${context.getType()}:${getMqttContext(context)?.clientId}:${context.switchToRpc().getData()}`,
);

@Injectable()
class ReproHandler {
  readonly custom = new Collector<unknown>();

  @MqttSubscribe('custom', { payloadFormat: 'text' })
  onCustom(@Sender('from ') sender: string) {
    this.custom.push(sender);
  }

  readonly tagged = new Collector<unknown>();
  readonly params = new Collector<unknown>();

  @MqttSubscribe('repro', { payloadFormat: 'text' })
  onTagged(@Payload(TagClassPipe) value: string) {
    this.tagged.push(value);
  }

  @MqttSubscribe('repro/:id/params')
  onParams(@Params('id', TagClassPipe) id: string) {
    this.params.push(id);
  }
}

describe('enhancers given as classes, built by the app injector with their dependencies', () => {
  let app: INestApplication;
  let client: TestClient;
  let trail: Trail;

  beforeAll(async () => {
    let url: string;
    ({ app, url } = await startApp({
      imports: [MqttWsModule.forRoot()],
      providers: [
        Trail,
        LevelsHandler,
        ReproHandler,
        { provide: APP_GUARD, useClass: levelGuard('global') },
        { provide: APP_INTERCEPTOR, useClass: levelInterceptor('global') },
        { provide: APP_PIPE, useClass: levelPipe('global') },
        { provide: APP_FILTER, useClass: levelFilter('global', GlobalError) },
      ],
    }, (app) => {
      const trail = app.get(Trail);
      app.useGlobalGuards(new (levelGuard('app'))(trail));
      app.useGlobalInterceptors(new (levelInterceptor('app'))(trail));
      app.useGlobalPipes(new (levelPipe('app'))(trail));
    }));
    trail = app.get(Trail);
    client = await TestClient.connect(url, { clientId: 'di-client' });
  });

  afterAll(async () => {
    await client.end();
    await app.close();
  });

  /**
   * What the trail records for one message. A QoS 1 PUBACK comes once the handlers (and every
   * enhancer around them) finished, whatever the outcome, so the trail is complete by then.
   */
  async function trailOf(payload: string): Promise<string[]> {
    const from = trail.entries.items.length;
    await client.publish('levels', payload, { qos: 1 });
    return trail.entries.items.slice(from);
  }

  it('delivers the value a @Payload(TagClassPipe) class pipe transformed (the issue repro)', async () => {
    const repro = app.get(ReproHandler);
    await client.publish('repro', 'v', { qos: 1 });
    await client.publish('repro/d1/params', '', { qos: 1 });
    // The app's global pipes tag payloads (Nest's 'body') only, so the repro value reads 'v|global:di|app:di…'.
    expect(await repro.tagged.waitFor(1)).toEqual(['v|global:di|app:di+di']);
    expect(await repro.params.waitFor(1)).toEqual(['d1+di']);
  });

  it('gives a createParamDecorator decorator the mqtt context and the decoded payload', async () => {
    await client.publish('custom', 'hello', { qos: 1 });
    expect(await app.get(ReproHandler).custom.waitFor(1)).toEqual(['from mqtt:di-client:hello']);
  });

  it('runs guards, interceptors and pipes of every level in Nest order, each built with its dependency', async () => {
    // Nest's order: APP_* providers, then app.useGlobalX() instances, then class, method, parameter.
    const handled = 'handler:levels:go|global:di|app:di|class:di|method:di|param:di';
    expect(await trailOf('go')).toEqual([
      'guard:global',
      'guard:app',
      'guard:class',
      'guard:method',
      'before:global',
      'before:app',
      'before:class',
      'before:method',
      handled,
      'after:method',
      'after:class',
      'after:app',
      'after:global',
    ]);
  });

  it.each(['global', 'app', 'class', 'method'] as const)('refuses the message when the %s guard says no', async (level) => {
    const guards = ['global', 'app', 'class', 'method'];
    expect(await trailOf(`deny:${level}`)).toEqual(guards.slice(0, guards.indexOf(level) + 1).map((name) => `guard:${name}`));
  });

  it.each(['global', 'class', 'method'] as const)('hands an exception to the %s exception filter', async (level) => {
    const entries = await trailOf(`throw:${level}`);
    expect(entries.filter((entry) => entry.startsWith('filter:'))).toEqual([`filter:${level} caught ${level} in levels`]);
    expect(entries.some((entry) => entry.startsWith('handler:'))).toBe(false);
  });
});

@Injectable()
class FeatureSuffix {
  readonly value = 'feature';
}

@Injectable()
class FeatureSuffixPipe implements PipeTransform {
  constructor(private readonly suffix: FeatureSuffix) {}
  transform(value: unknown) {
    return `${String(value)}@${this.suffix.value}`;
  }
}

@Injectable()
class FeatureHandler {
  static readonly seen = new Collector<unknown>();

  @UseGuards(levelGuard('method'))
  @MqttSubscribe('feature/:id', { payloadFormat: 'text' })
  onFeature(@Payload(FeatureSuffixPipe) value: string, @Params('id') id: string) {
    FeatureHandler.seen.push(`${id}:${value}`);
  }
}

/** A feature module: the pipe's dependency is provided there only, and MqttWsModule is imported elsewhere. */
@Module({ providers: [FeatureSuffix, Trail, FeatureHandler] })
class FeatureModule {}

describe('class enhancers of a handler in a feature module', () => {
  it("are built by the feature module's injector", async () => {
    const { app, url } = await startApp({ imports: [MqttWsModule.forRoot(), FeatureModule] });
    const client = await TestClient.connect(url);
    try {
      await client.publish('feature/f1', 'v', { qos: 1 });
      expect(await FeatureHandler.seen.waitFor(1)).toEqual(['f1:v@feature']);
    } finally {
      await client.end();
      await app.close();
    }
  });
});
