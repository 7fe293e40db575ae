import 'reflect-metadata';
import { Injectable, type INestApplication, type Type } from '@nestjs/common';
import {
  Ctx,
  MqttContext,
  MqttService,
  MqttSubscribe,
  MqttWsModule,
  Payload,
  Properties,
  Topic,
  UserProperties,
  type MqttPublishProperties,
} from '../../lib/index.js';
import { startApp } from '../utils/app.js';
import { Collector } from '../utils/deferred.js';
import { TestClient } from '../utils/mqtt-client.js';
import { startupError } from '../utils/startup-error.js';

const seen = {
  all: new Collector<{ properties: MqttPublishProperties; contentType: unknown; tenant: unknown; users: unknown }>(),
  context: new Collector<{ version: number; properties: MqttPublishProperties; userProperties: unknown }>(),
  plain: new Collector<string>(),
};

@Injectable()
class PropertiesHandlers {
  @MqttSubscribe('props/all')
  onAll(
    @Properties() properties: MqttPublishProperties,
    @Properties('contentType') contentType: string | undefined,
    @UserProperties('tenant') tenant: string | string[] | undefined,
    @UserProperties() users: Record<string, string | string[]>,
  ) {
    seen.all.push({ properties, contentType, tenant, users });
  }

  @MqttSubscribe('props/context')
  onContext(@Ctx() context: MqttContext) {
    seen.context.push({ version: context.protocolVersion, properties: context.properties, userProperties: context.userProperties });
  }

  @MqttSubscribe('props/plain')
  onPlain(@Payload() payload: string) {
    seen.plain.push(payload);
  }
}

function bootstrapError(handler: Type): Promise<string> {
  return startupError({ imports: [MqttWsModule.forRoot()], providers: [handler] });
}

describe('MQTT 5 properties in handlers, MqttContext and MqttService.publish', () => {
  let app: INestApplication;
  let url: string;
  let mqtt: MqttService;

  beforeAll(async () => {
    ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot()], providers: [PropertiesHandlers] }));
    mqtt = app.get(MqttService);
  });

  afterAll(async () => {
    await app.close();
  });

  it('gives @Properties(), @Properties(name) and @UserProperties(name?) the properties of a server publish', async () => {
    await mqtt.publish('props/all', { on: true }, {
      qos: 1,
      properties: {
        contentType: 'application/json',
        payloadFormatIndicator: true,
        messageExpiryInterval: 60,
        userProperties: { tenant: 'acme', trace: ['a', 'b'] },
        correlationData: 'c-1',
      },
    });
    const [call] = await seen.all.waitFor(1);
    expect(call.contentType).toBe('application/json');
    expect(call.tenant).toBe('acme');
    expect(call.users).toEqual({ tenant: 'acme', trace: ['a', 'b'] });
    expect(call.properties).toMatchObject({ contentType: 'application/json', payloadFormatIndicator: true, messageExpiryInterval: 60 });
    expect(Buffer.from(call.properties.correlationData!).toString()).toBe('c-1');
  });

  it('gives a message without properties {} (and undefined for a named one), from a client and from the server', async () => {
    const client = await TestClient.connect(url, { clientId: 'v3-publisher' });
    try {
      await client.publish('props/all', 'x', { qos: 1 });
      const [, call] = await seen.all.waitFor(2);
      expect(call).toEqual({ properties: {}, contentType: undefined, tenant: undefined, users: {} });
      await client.publish('props/context', 'x', { qos: 1 });
      const [fromClient] = await seen.context.waitFor(1);
      expect(fromClient).toEqual({ version: 4, properties: {}, userProperties: {} });
    } finally {
      await client.end();
    }
    await mqtt.publish('props/context', 'x', { properties: { userProperties: { k: 'v' } } });
    const [, fromServer] = await seen.context.waitFor(2);
    expect(fromServer).toEqual({ version: 5, properties: { userProperties: { k: 'v' } }, userProperties: { k: 'v' } });
  });

  it('sends an MQTT 3.1.1 subscriber the message without its properties', async () => {
    const subscriber = await TestClient.connect(url, { clientId: 'v3-subscriber' });
    try {
      await subscriber.subscribe('props/plain', 1);
      await mqtt.publish('props/plain', 'hello', { qos: 1, properties: { contentType: 'text/plain', userProperties: { a: 'b' } } });
      const [message] = await subscriber.waitFor(1, 'props/plain');
      expect(message.payload.toString()).toBe('hello');
      expect(message.packet.properties).toBeUndefined();
    } finally {
      await subscriber.end();
    }
  });

  it.each([
    [{ contentTyp: 'x' }, "unknown MQTT 5 property 'contentTyp'; did you mean 'contentType'?"],
    [{ userProperties: { n: 1 } }, "properties.userProperties.n must be a string or an array of strings, got number 1: write String(value) ('1')"],
    [{ messageExpiryInterval: -1 }, 'properties.messageExpiryInterval must be an integer number of seconds from 0 to 4294967295, got number -1'],
    [{ payloadFormatIndicator: 1 }, 'properties.payloadFormatIndicator must be a boolean (true: the payload is UTF-8 text), got number 1'],
    [{ responseTopic: 'replies/#' }, 'properties.responseTopic "replies/#" is not a topic name'],
    [{ correlationData: 5 }, 'properties.correlationData must be a Buffer, Uint8Array or string, got number 5'],
    [{ subscriptionIdentifier: 3 }, 'properties.subscriptionIdentifier is set by the server'],
  ])('rejects publish properties %j, naming the fix', async (properties, message) => {
    await expect(mqtt.publish('props/none', 'x', { properties } as never)).rejects.toThrow(`MqttService.publish: ${message}`);
  });

  it('rejects payloadFormatIndicator true on a payload that is not UTF-8, and an unknown publish option', async () => {
    await expect(mqtt.publish('props/none', Buffer.from([0xff, 0xfe]), { properties: { payloadFormatIndicator: true } })).rejects.toThrow(
      'payload is not valid UTF-8',
    );
    await expect(mqtt.publish('props/none', 'x', { retian: true } as never)).rejects.toThrow("MqttService.publish: unknown option 'retian'");
    await expect(mqtt.publish('props/none', 'x', { retain: 'yes' } as never)).rejects.toThrow('MqttService.publish: retain must be true or false, got "yes"');
  });

  it("refuses @Properties('contentTyp') at start-up, naming the closest property", async () => {
    @Injectable()
    class Typo {
      @MqttSubscribe('a/b')
      handle(@Properties('contentTyp' as never) value: string) {
        return value;
      }
    }
    expect(await bootstrapError(Typo)).toMatch(
      /^MqttWsModule: @Properties\("contentTyp"\) on parameter 0 of Typo.handle: there is no such MQTT 5 PUBLISH property; did you mean @Properties\('contentType'\)\?/,
    );
  });

  it('refuses @UserProperties with an empty name at start-up', async () => {
    @Injectable()
    class Empty {
      @MqttSubscribe('a/b')
      handle(@Topic() topic: string, @UserProperties('') value: string) {
        return [topic, value];
      }
    }
    expect(await bootstrapError(Empty)).toMatch(/@UserProperties\(""\) on parameter 1 of Empty.handle: the name must be a non-empty string/);
  });
});
