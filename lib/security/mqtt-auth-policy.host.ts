import { Inject, Injectable, type OnModuleInit, type Type } from '@nestjs/common';
import { ModuleRef, ModulesContainer } from '@nestjs/core';
import { MQTT_WS_RESOLVED_OPTIONS } from '../mqtt-ws.constants.js';
import type { ResolvedMqttWsOptions } from '../mqtt-ws-options.validator.js';
import type { MqttAuthOption, MqttAuthPolicy } from './mqtt-auth-policy.interface.js';

/**
 * Holds the auth policy of the `auth` option. The broker's hooks are installed when the broker is
 * built and reach the policy through this host; the policy itself is resolved in `onModuleInit`,
 * once every provider of the app exists, and so before the listener opens at bootstrap.
 */
@Injectable()
export class MqttAuthPolicyHost implements OnModuleInit {
  policy: MqttAuthPolicy | undefined;

  constructor(
    @Inject(MQTT_WS_RESOLVED_OPTIONS) private readonly options: ResolvedMqttWsOptions,
    private readonly moduleRef: ModuleRef,
    private readonly modules: ModulesContainer,
  ) {}

  get enabled(): boolean {
    return this.options.auth !== undefined;
  }

  async onModuleInit(): Promise<void> {
    if (this.options.auth === undefined) return;
    const policy = await this.resolve(this.options.auth);
    if (policy === null || typeof policy !== 'object') {
      throw new Error('MqttWsModule: the "auth" option did not resolve to a policy object');
    }
    this.policy = policy;
  }

  private async resolve(option: MqttAuthOption): Promise<MqttAuthPolicy> {
    if (typeof option === 'function') {
      return this.existing(option) ?? (await this.create(option as Type<MqttAuthPolicy>, 'class'));
    }
    if ('useValue' in option) return option.useValue;
    if ('useClass' in option) return this.create(option.useClass, 'useClass');
    const policy = this.existing(option.useExisting);
    if (policy === undefined) {
      throw new Error(`MqttWsModule: "auth.useExisting" names ${describe(option.useExisting)}, which no module provides`);
    }
    return policy;
  }

  /**
   * A policy that is no provider is created with what MqttWsModule can inject. Nest's own error for a
   * dependency outside that scope asks whether it is "part of MqttWsModule", the wrong place to fix it.
   */
  private async create(policy: Type<MqttAuthPolicy>, given: 'class' | 'useClass'): Promise<MqttAuthPolicy> {
    try {
      return await this.moduleRef.create(policy);
    } catch (error) {
      const dependency = (error as { context?: { name?: unknown } }).context?.name;
      if (dependency === undefined) throw error;
      throw new Error(this.whereToProvide(policy, given, dependency), { cause: error });
    }
  }

  private whereToProvide(policy: Type<MqttAuthPolicy>, given: 'class' | 'useClass', dependency: unknown): string {
    const name = describe(policy);
    const hosts = [...this.modules.values()].filter((module) => module.providers.has(dependency as Type)).map((module) => module.name);
    const module = hosts.length > 0 ? hosts.join(' or ') : `the module that provides ${describe(dependency)}`;
    const option = given === 'class' ? `auth: ${name}` : `auth: { useClass: ${name} }`;
    return (
      `MqttWsModule: the auth policy ${name} (option "${option}") needs ${describe(dependency)}, which MqttWsModule cannot inject: ` +
      `a policy that is not a provider is created in MqttWsModule's scope. Add ${name} to the providers of ${module} ` +
      `(providers: [${name}]) and name it with auth: { useExisting: ${name} } (or auth: ${name}).`
    );
  }

  private existing(token: unknown): MqttAuthPolicy | undefined {
    try {
      return this.moduleRef.get(token as Type<MqttAuthPolicy>, { strict: false });
    } catch {
      return undefined;
    }
  }
}

function describe(token: unknown): string {
  return typeof token === 'function' ? token.name : String(token);
}
