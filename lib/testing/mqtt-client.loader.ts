import type * as Mqtt from 'mqtt';

/**
 * MQTT.js is an optional peer dependency: only the testing kit needs it, so it is loaded when a test
 * client connects, with one clear error when it is not installed.
 */
export async function loadMqttJs(): Promise<typeof Mqtt> {
  try {
    const loaded = (await import('mqtt')) as typeof Mqtt & { default?: typeof Mqtt };
    return (loaded as { connectAsync?: unknown }).connectAsync !== undefined ? loaded : loaded.default!;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new Error('nestjs-mqtt-ws/testing needs MQTT.js, an optional peer dependency: npm install --save-dev mqtt');
    }
    throw error;
  }
}
