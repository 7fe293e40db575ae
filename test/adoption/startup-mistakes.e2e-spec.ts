import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { MqttWsModule, type MqttAuthPolicy, type MqttConnectAuthContext, type MqttWsModuleOptions } from '../../lib/index.js';
import { startApp } from '../utils/app.js';
import { startupError } from '../utils/startup-error.js';
import { connackCode } from '../security/utils/connect.js';


describe('an unknown option key', () => {
  it.each([
    [{ pth: '/x' }, /unknown option "pth"\. Did you mean "path"\?/],
    [{ maxPayLoad: 10 }, /unknown option "maxPayLoad"\. Did you mean "maxPayload"\?/],
    [{ allowedOrigin: ['https://a.example'] }, /unknown option "allowedOrigin"\. Did you mean "allowedOrigins"\?/],
    [{ redis: { ulr: 'redis://localhost:6379' } }, /unknown option "redis\.ulr"\. Did you mean "redis\.url"\?/],
    [{ redis: { url: 'redis://localhost:6379', keyprefix: 'a' } }, /unknown option "redis\.keyprefix"\. Did you mean "redis\.keyPrefix"\?/],
  ])('%j fails at start-up naming the key and the closest valid one', async (options, message) => {
    await expect(startupError({ imports: [MqttWsModule.forRoot(options as MqttWsModuleOptions)] })).resolves.toMatch(message);
  });

  it('without a close match, lists the valid keys', async () => {
    const message = await startupError({ imports: [MqttWsModule.forRoot({ banana: 1 } as MqttWsModuleOptions)] });
    expect(message).toMatch(/unknown option "banana"\. The options are: path, port, host, /);
    expect(message).not.toMatch(/Did you mean/);
  });

  it('is caught in the options a forRootAsync factory returns', async () => {
    const message = await startupError({ imports: [MqttWsModule.forRootAsync({ useFactory: () => ({ pth: '/x' }) as MqttWsModuleOptions })] });
    expect(message).toMatch(/unknown option "pth"\. Did you mean "path"\?/);
  });
});

@Injectable()
class AccountsService {
  readonly tokens = new Set(['token-ok']);
}

@Module({ providers: [AccountsService], exports: [AccountsService] })
class AccountsModule {}

/** A policy with a constructor dependency on a provider of the app's own (non-global) module. */
@Injectable()
class AccountsPolicy implements MqttAuthPolicy {
  constructor(private readonly accounts: AccountsService) {}
  authenticate({ password }: MqttConnectAuthContext): boolean {
    return this.accounts.tokens.has(password?.toString() ?? '');
  }
}

@Module({ imports: [AccountsModule], providers: [AccountsPolicy] })
class PolicyModule {}

describe('an auth policy with constructor dependencies', () => {
  it.each([
    ['auth: Policy, listed in providers of a module that has its dependencies', () => MqttWsModule.forRoot({ auth: AccountsPolicy })],
    ['auth: { useExisting: Policy }', () => MqttWsModule.forRoot({ auth: { useExisting: AccountsPolicy } })],
  ])('works as documented: %s', async (_name, mqttModule) => {
    const { app, url } = await startApp({ imports: [mqttModule(), PolicyModule] });
    try {
      expect(await connackCode(url, { username: 'u', password: 'nope', clientId: 'p-1' })).toBe(4);
      expect(await connackCode(url, { username: 'u', password: 'token-ok', clientId: 'p-2' })).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('not listed in any providers: fails at start-up saying where to add it', async () => {
    const message = await startupError({ imports: [MqttWsModule.forRoot({ auth: AccountsPolicy }), AccountsModule] });
    expect(message).toContain('the auth policy AccountsPolicy (option "auth: AccountsPolicy") needs AccountsService');
    expect(message).toContain('Add AccountsPolicy to the providers of AccountsModule (providers: [AccountsPolicy])');
    expect(message).toContain('auth: { useExisting: AccountsPolicy }');
    expect(message).not.toMatch(/is it part of the current MqttWsModule/i);
  });

  it('given as { useClass } with a dependency MqttWsModule cannot inject: the same advice', async () => {
    const message = await startupError({ imports: [MqttWsModule.forRoot({ auth: { useClass: AccountsPolicy } }), AccountsModule] });
    expect(message).toContain('(option "auth: { useClass: AccountsPolicy }") needs AccountsService');
    expect(message).toContain('Add AccountsPolicy to the providers of AccountsModule');
  });
});
