import { IntrinsicException } from '@nestjs/common';

/** The user property that marks a response as an error response; its value is the error's code. */
export const ERROR_USER_PROPERTY = 'error';

/**
 * An error answer to an MQTT 5 request. Thrown by a handler (or returned or thrown by an exception
 * filter) whose message carried a response topic, it is published to that topic as an error response:
 * the user property `error` holds `code`, the JSON payload `{ message, code, details? }`.
 * `MqttService.request` rejects with it on the requesting side. Nest does not log it as a failure:
 * it is an answer, not a bug.
 */
export class MqttResponseError extends IntrinsicException {
  readonly code: string;
  readonly details: unknown;

  constructor(message: string, options: { code?: string; details?: unknown } = {}) {
    super(message);
    this.name = 'MqttResponseError';
    this.code = options.code ?? 'error';
    this.details = options.details;
  }

  /** The JSON payload of the error response. */
  toJSON(): { message: string; code: string; details?: unknown } {
    return this.details === undefined
      ? { message: this.message, code: this.code }
      : { message: this.message, code: this.code, details: this.details };
  }
}

/** `MqttService.request` got no response in time. */
export class MqttRequestTimeoutError extends Error {
  constructor(
    readonly topic: string,
    readonly timeout: number,
  ) {
    super(`MqttService.request: no response to the request on "${topic}" within ${timeout} ms`);
    this.name = 'MqttRequestTimeoutError';
  }
}
