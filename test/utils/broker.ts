import type { INestApplicationContext } from '@nestjs/common';
import type { Aedes } from 'aedes';
import type { MqttBroker } from '../../lib/broker/mqtt-broker.js';
import { MqttService } from '../../lib/index.js';
import { MQTT_BROKER } from '../../lib/mqtt-ws.constants.js';

/** The module's broker, as the library sees it (its own `MqttBroker` interface). */
export const brokerOf = (app: INestApplicationContext): MqttBroker => app.get<MqttBroker>(MQTT_BROKER);

/** The Aedes instance behind it, through the unsupported escape hatch: for tests that count Aedes' own internals. */
export const aedesOf = (app: INestApplicationContext): Aedes => app.get(MqttService).broker as Aedes;
