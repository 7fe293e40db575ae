import 'reflect-metadata';
import { Controller, Injectable, Post, Query, Scope, UseGuards, type CanActivate, type LoggerService, type NestInterceptor, type Provider, type Type } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { startupError } from './utils/startup-error.js';
import { MqttSubscribe, MqttWsModule, OnMqttEvent, Params, Payload, Topic, type MqttEventName } from '../lib/index.js';

/** The message `app.init()` rejects with, for an app holding the given handler class. */
function bootstrapError(handler: Type, asController = false, providers: Provider[] = []): Promise<string> {
  return startupError({
    imports: [MqttWsModule.forRoot()],
    providers: asController ? providers : [handler, ...providers],
    controllers: asController ? [handler] : [],
  });
}

function handlerWithFilter(filter: string): Type {
  @Injectable()
  class FilterHandler {
    @MqttSubscribe(filter)
    handle(@Topic() topic: string) {
      return topic;
    }
  }
  return FilterHandler;
}

describe('handler decorator mistakes fail at start-up, naming the fix', () => {
  it("refuses @Params('idd') on 'dev/:id/t', naming the class, method, the param and the route's params", async () => {
    @Injectable()
    class Devices {
      @MqttSubscribe('dev/:id/t')
      onTemperature(@Payload() reading: unknown, @Params('idd') id: string) {
        return [reading, id];
      }
    }
    expect(await bootstrapError(Devices)).toBe(
      "MqttWsModule: @Params('idd') on parameter 1 of Devices.onTemperature: the filter 'dev/:id/t' has no level " +
        "':idd'; its named levels are ':id'. Did you mean @Params('id')?",
    );
  });

  it('requires a named param to be a level of every filter of the handler', async () => {
    @Injectable()
    class TwoRoutes {
      @MqttSubscribe('a/:id/x')
      @MqttSubscribe('b/:key/x')
      handle(@Params('id') id: string) {
        return id;
      }
    }
    expect(await bootstrapError(TwoRoutes)).toMatch(
      /@Params\('id'\) on parameter 0 of TwoRoutes\.handle: the filter 'b\/:key\/x' has no level ':id'; its named levels are ':key'\. A named param must be a level of every filter/,
    );
  });

  it('refuses @Params() on a handler none of whose filters has a named level', async () => {
    @Injectable()
    class NoLevels {
      @MqttSubscribe(['plain/topic', 'plain/+'])
      handle(@Params() params: Record<string, string>) {
        return params;
      }
    }
    expect(await bootstrapError(NoLevels)).toMatch(
      /@Params\(\) on parameter 0 of NoLevels\.handle: none of its filters \('plain\/topic', 'plain\/\+'\) has a named level/,
    );
  });

  it('refuses a handler parameter without a decorator, listing the MQTT decorators', async () => {
    @Injectable()
    class Undecorated {
      @MqttSubscribe('sensors/+')
      handle(@Topic() topic: string, payload: unknown) {
        return [topic, payload];
      }
    }
    expect(await bootstrapError(Undecorated)).toMatch(
      /^MqttWsModule: parameter 1 of Undecorated\.handle has no decorator\. .*@Payload\(\), @Params\('name'\), @Topic\(\), @ClientId\(\), @Packet\(\), @Properties\(\), @UserProperties\(\) or @Ctx\(\)/,
    );
  });

  it('refuses an HTTP parameter decorator on an MQTT handler', async () => {
    @Injectable()
    class HttpDecorator {
      @MqttSubscribe('sensors/+')
      handle(@Query('x') x: string) {
        return x;
      }
    }
    expect(await bootstrapError(HttpDecorator)).toMatch(/parameter 0 of HttpDecorator\.handle has a decorator that is not an MQTT one/);
  });

  it('refuses a method that is both an HTTP route and an MQTT handler', async () => {
    @Controller('devices')
    class Both {
      @Post('reading')
      @MqttSubscribe('devices/reading')
      handle(@Payload() reading: unknown) {
        return reading;
      }
    }
    expect(await bootstrapError(Both, true)).toMatch(
      /Both\.handle is both an MQTT handler \(@MqttSubscribe\) and an HTTP route \(@Get, @Post, …\)\..*call it from two handlers/,
    );
  });

  it.each([
    ['a/#/b', 'a/#/b', "'#' must be the last level of a topic filter, alone on its level [MQTT-4.7.1-2]"],
    ['a/b#', 'a/b#', "'#' must be the last level of a topic filter, alone on its level [MQTT-4.7.1-2]"],
    ['a+/b', 'a+/b', "'+' must occupy an entire level of a topic filter [MQTT-4.7.1-3]"],
    ['dev/:id+/x', 'dev/:id+/x', "':id+' is not a valid named level (':' then a letter or '_', then letters, digits or '_')"],
    ['(empty)', '', 'a topic filter must be at least one character long [MQTT-4.7.3-1]'],
    ['a/U+0000', 'a/\u0000', 'a topic filter must not contain the null character U+0000 [MQTT-4.7.3-2]'],
    ['65536 bytes', 'x'.repeat(65536), 'a topic filter must not encode to more than 65535 bytes [MQTT-4.7.3-3]'],
  ])('refuses the invalid filter %s, naming Class.method, the filter and the rule', async (_label, filter, rule) => {
    const message = await bootstrapError(handlerWithFilter(filter));
    const shown = filter.length > 80 ? `${JSON.stringify(filter.slice(0, 80))}…` : JSON.stringify(filter);
    expect(message).toBe(`MqttWsModule: @MqttSubscribe(${shown}) on FilterHandler.handle: ${rule}`);
  });

  it('refuses @OnMqttEvent with an unknown event name, listing the valid ones', async () => {
    @Injectable()
    class Events {
      @OnMqttEvent('client.conected' as MqttEventName)
      onConnect() {}
    }
    expect(await bootstrapError(Events)).toBe(
      `MqttWsModule: @OnMqttEvent("client.conected") on Events.onConnect: there is no such event; did you mean 'client.connected'? ` +
        `The events are 'client.connected', 'client.disconnected', 'client.subscribed', 'client.unsubscribed', 'client.error', 'redis.down', 'redis.up'.`,
    );
  });
  it('refuses an unknown @MqttSubscribe option, naming the closest one', async () => {
    @Injectable()
    class TypoOption {
      @MqttSubscribe('t', { payloadformat: 'text' } as never)
      handle(@Payload() text: string) {
        return text;
      }
    }
    expect(await bootstrapError(TypoOption)).toBe(
      "MqttWsModule: @MqttSubscribe on TypoOption.handle: unknown option 'payloadformat'; did you mean 'payloadFormat'? " +
        "The options are 'payloadFormat', 'scope'.",
    );
  });

  it('refuses an unknown payloadFormat on one handler', async () => {
    @Injectable()
    class XmlFormat {
      @MqttSubscribe('t', { payloadFormat: 'xml' as never })
      handle(@Payload() text: string) {
        return text;
      }
    }
    expect(await bootstrapError(XmlFormat)).toBe(
      `MqttWsModule: @MqttSubscribe on XmlFormat.handle: payloadFormat must be 'json', 'text' or 'buffer', got "xml"`,
    );
  });

  it("refuses @Payload('property') on a handler that decodes text or bytes", async () => {
    @Injectable()
    class PropertyOfText {
      @MqttSubscribe('t', { payloadFormat: 'text' })
      handle(@Payload('celsius') celsius: number) {
        return celsius;
      }
    }
    expect(await bootstrapError(PropertyOfText)).toMatch(
      /@Payload\('celsius'\) on parameter 0 of PropertyOfText\.handle reads a property of a JSON payload, but the handler decodes payloads as 'text'/,
    );
  });

  it('refuses a method that is both a message handler and an event handler', async () => {
    @Injectable()
    class Mixed {
      @OnMqttEvent('client.connected')
      @MqttSubscribe('t')
      handle(@Topic() topic: string) {
        return topic;
      }
    }
    expect(await bootstrapError(Mixed)).toMatch(/Mixed\.handle has both @MqttSubscribe and @OnMqttEvent/);
  });
  @Injectable()
  class PlainHandler {
    @MqttSubscribe('t')
    handle(@Topic() topic: string) {
      return topic;
    }
  }

  @Injectable({ scope: Scope.REQUEST })
  class PerRequestGuard implements CanActivate {
    canActivate() {
      return true;
    }
  }

  it('refuses a request-scoped global guard, which Nest would skip on MQTT handlers', async () => {
    expect(await bootstrapError(PlainHandler, false, [{ provide: APP_GUARD, useClass: PerRequestGuard }])).toMatch(
      /^MqttWsModule: the global guard PerRequestGuard is request-scoped or transient, .* does not run on @MqttSubscribe handlers\. Make it a singleton/,
    );
  });

  it('names a request-scoped guard on the handler as what makes its singleton provider request-scoped', async () => {
    @Injectable()
    class GuardedHandler {
      @UseGuards(PerRequestGuard)
      @MqttSubscribe('t')
      handle(@Topic() topic: string) {
        return topic;
      }
    }
    expect(await bootstrapError(GuardedHandler)).toMatch(
      /GuardedHandler\.handle is an MQTT handler on a request-scoped or transient provider \(GuardedHandler is a singleton, but a request-scoped dependency, guard, interceptor, pipe or filter makes Nest build it per request\)/,
    );
  });

  it('starts with a transient global interceptor, and says it does not run on MQTT handlers', async () => {
    @Injectable({ scope: Scope.TRANSIENT })
    class PerHostInterceptor implements NestInterceptor {
      intercept(_context: unknown, next: { handle: () => unknown }) {
        return next.handle() as never;
      }
    }
    const warnings: string[] = [];
    const logger: LoggerService = { log() {}, error() {}, warn: (message: string) => warnings.push(message) };
    const moduleRef = await Test.createTestingModule({
      imports: [MqttWsModule.forRoot()],
      providers: [PlainHandler, { provide: APP_INTERCEPTOR, useClass: PerHostInterceptor }],
    }).compile();
    const app = moduleRef.createNestApplication({ logger });
    await app.init();
    await app.close();
    expect(warnings).toContainEqual(expect.stringMatching(/^The global interceptor PerHostInterceptor is request-scoped or transient, .*Make it a singleton/));
  });
});
