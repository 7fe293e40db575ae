import 'reflect-metadata';
import { Injectable, type INestApplication } from '@nestjs/common';
import {
  MqttReasonCode,
  MqttWsModule,
  connectReturnCodeOf,
  type MqttAuthPolicy,
  type MqttAuthenticateResult,
  type MqttConnectAuthContext,
} from '../../lib/index.js';
import { startApp } from '../utils/app.js';
import { connackCode } from '../security/utils/connect.js';

const ANSWERS: Record<string, MqttAuthenticateResult> = {
  bad: { reasonCode: MqttReasonCode.BadUserNameOrPassword, reasonString: 'wrong password' },
  denied: MqttReasonCode.NotAuthorized,
  banned: { reasonCode: MqttReasonCode.Banned, reasonString: 'banned until Friday' },
  quota: { reasonCode: MqttReasonCode.QuotaExceeded, reasonString: 'too many devices on this plan' },
  busy: MqttReasonCode.ServerBusy,
  badid: MqttReasonCode.ClientIdentifierNotValid,
  // Not a CONNACK refusal: the policy's mistake refuses as server unavailable.
  success: { reasonCode: MqttReasonCode.Success },
  principal: { userId: 'u-1', plan: 'pro' },
};

@Injectable()
class ReasonPolicy implements MqttAuthPolicy {
  authenticate({ username }: MqttConnectAuthContext): MqttAuthenticateResult {
    return ANSWERS[username ?? ''] ?? false;
  }
}

describe('auth policy refusals with MQTT 5 reason codes', () => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    ({ app, url } = await startApp({ imports: [MqttWsModule.forRoot({ auth: ReasonPolicy })] }));
  });

  afterAll(async () => {
    await app.close();
  });

  it.each([
    ['bad', 4],
    ['denied', 5],
    ['banned', 5],
    ['quota', 3],
    ['busy', 3],
    ['badid', 2],
    ['success', 3],
    ['principal', 0],
  ])('gives an MQTT 3.1.1 client refused with %s the nearest CONNACK return code (%i)', async (username, code) => {
    expect(await connackCode(url, { username, password: 'x', clientId: `v4-${username}`, protocolVersion: 4 })).toBe(code);
  });

  it('maps every MQTT 5 CONNACK refusal to a 3.1.1 return code', () => {
    expect(connectReturnCodeOf(MqttReasonCode.BadAuthenticationMethod)).toBe(4);
    expect(connectReturnCodeOf(MqttReasonCode.UnspecifiedError)).toBe(3);
    expect(connectReturnCodeOf(MqttReasonCode.ConnectionRateExceeded)).toBe(3);
    expect(connectReturnCodeOf(MqttReasonCode.UseAnotherServer)).toBe(3);
  });
});
