import { Inject, Injectable, type OnModuleInit, type Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
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
      return this.existing(option) ?? (await this.moduleRef.create(option as Type<MqttAuthPolicy>));
    }
    if ('useValue' in option) return option.useValue;
    if ('useClass' in option) return this.moduleRef.create(option.useClass);
    const policy = this.existing(option.useExisting);
    if (policy === undefined) {
      throw new Error(`MqttWsModule: "auth.useExisting" names ${describe(option.useExisting)}, which no module provides`);
    }
    return policy;
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
