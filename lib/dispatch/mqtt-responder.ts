import { HttpException, Logger } from '@nestjs/common';
import { isObservable, lastValueFrom } from 'rxjs';
import type { MqttBroker, MqttClientInfo, MqttPublishPacket } from '../broker/mqtt-broker.js';
import type { MqttPublishProperties } from '../interfaces/mqtt5.interface.js';
import { topicNameError } from '../topic/index.js';
import { ERROR_USER_PROPERTY, MqttResponseError } from './mqtt-response-error.js';

const JSON_CONTENT = 'application/json';
const TEXT_CONTENT = 'text/plain; charset=utf-8';

/** Whether the requesting client may have the server publish to the response topic it named. */
export type ResponseTopicCheck = (client: MqttClientInfo, response: MqttPublishPacket) => Promise<boolean>;

/**
 * Publishes a handler's answer to an MQTT 5 request (a message with a response topic) with the
 * request's correlation data. Only messages with a response topic reach it.
 */
export class MqttResponder {
  private readonly logger = new Logger('MqttWsModule');

  constructor(
    private readonly broker: MqttBroker,
    private readonly mayRespond: ResponseTopicCheck,
  ) {}

  /** The handler's value: a Buffer as it is, a string as UTF-8 text, anything else as JSON; `undefined` answers nothing. */
  async answer(request: MqttPublishPacket, client: MqttClientInfo | null, result: unknown, handlerName: string): Promise<void> {
    let value = result;
    try {
      // An exception filter's answer may be an Observable (Nest's `throwError(() => …)` style).
      if (isObservable(value)) value = await lastValueFrom(value, { defaultValue: undefined });
    } catch (error) {
      return this.fail(request, client, error, handlerName);
    }
    if (value === undefined) return;
    if (value instanceof MqttResponseError) return this.fail(request, client, value, handlerName);
    await this.publish(request, client, encodeAnswer(value), handlerName);
  }

  /** A handler's failure as an error response: see `errorResponse`. */
  async fail(request: MqttPublishPacket, client: MqttClientInfo | null, error: unknown, handlerName: string): Promise<void> {
    const answer = errorResponse(error);
    const properties: MqttPublishProperties = {
      contentType: JSON_CONTENT,
      payloadFormatIndicator: true,
      userProperties: { [ERROR_USER_PROPERTY]: answer.code },
    };
    await this.publish(request, client, { payload: Buffer.from(JSON.stringify(answer)), properties }, handlerName);
  }

  private async publish(
    request: MqttPublishPacket,
    client: MqttClientInfo | null,
    answer: { payload: Buffer; properties: MqttPublishProperties },
    handlerName: string,
  ): Promise<void> {
    const properties = answer.properties;
    const correlationData = request.properties?.correlationData;
    if (correlationData !== undefined) properties.correlationData = correlationData;
    const response: MqttPublishPacket = {
      cmd: 'publish',
      topic: request.properties!.responseTopic!,
      payload: answer.payload,
      qos: request.qos,
      retain: false,
      dup: false,
      properties,
    };
    // Aedes 2 already refuses a PUBLISH whose response topic has wildcards [MQTT-3.3.2-14]; this keeps
    // the answer valid whatever broker is behind the seam.
    const topicError = topicNameError(response.topic);
    if (topicError !== undefined) {
      this.logger.warn(`${handlerName} did not answer ${describe(client)}: its response topic is invalid (${topicError})`);
      return;
    }
    // The server publishes the response for the requester, so only where the requester may publish itself.
    if (client !== null && !(await this.mayRespond(client, response))) {
      this.logger.warn(
        `${handlerName} did not answer ${describe(client)}: the auth policy does not let it publish to its response topic "${response.topic}"`,
      );
      return;
    }
    await new Promise<void>((resolve) => {
      this.broker.publish(response, (error) => {
        if (error) this.logger.warn(`${handlerName} could not answer on "${response.topic}": ${error.message}`);
        resolve();
      });
    });
  }
}

function encodeAnswer(value: unknown): { payload: Buffer; properties: MqttPublishProperties } {
  if (Buffer.isBuffer(value)) return { payload: value, properties: {} };
  if (value instanceof Uint8Array) return { payload: Buffer.from(value.buffer, value.byteOffset, value.byteLength), properties: {} };
  if (typeof value === 'string') return { payload: Buffer.from(value), properties: { contentType: TEXT_CONTENT, payloadFormatIndicator: true } };
  return { payload: Buffer.from(JSON.stringify(value) ?? 'null'), properties: { contentType: JSON_CONTENT, payloadFormatIndicator: true } };
}

/**
 * What a requester learns of a failure: an `MqttResponseError` as it is; an `HttpException` (a
 * ValidationPipe's BadRequestException, a guard's ForbiddenException) with its status as the code and
 * its response as the details, as Nest would answer over HTTP; an `RpcException`-like error (with
 * `getError()`) with its error; anything else only as `internal`, so no stack or message of a bug leaks.
 */
function errorResponse(error: unknown): MqttResponseError {
  if (error instanceof MqttResponseError) return error;
  if (error instanceof HttpException) {
    const details = error.getResponse();
    return new MqttResponseError(error.message, { code: String(error.getStatus()), details: typeof details === 'object' ? details : undefined });
  }
  const rpcError = (error as { getError?: () => unknown } | null)?.getError?.();
  if (typeof rpcError === 'string') return new MqttResponseError(rpcError);
  if (rpcError !== null && typeof rpcError === 'object') {
    const message = (rpcError as { message?: unknown }).message;
    return new MqttResponseError(typeof message === 'string' ? message : 'error', { details: rpcError });
  }
  return new MqttResponseError('Internal server error', { code: 'internal' });
}

function describe(client: MqttClientInfo | null): string {
  return client ? `client "${client.id}"` : 'the server';
}
