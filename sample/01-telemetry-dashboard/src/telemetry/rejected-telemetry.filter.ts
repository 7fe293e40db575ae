import { BadRequestException, Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { MqttContext } from 'nestjs-mqtt-ws';

/**
 * Says why the ValidationPipe refused a reading, and who sent it. Without it the library still logs
 * the rejection, but only as "Bad Request Exception". It is bound to the MQTT handler only, so the
 * host is always an MQTT one.
 */
@Catch(BadRequestException)
export class RejectedTelemetryFilter implements ExceptionFilter {
  private readonly logger = new Logger('Telemetry');

  catch(exception: BadRequestException, host: ArgumentsHost): null {
    const { topic, clientId } = host.switchToRpc().getContext<MqttContext>();
    const { message } = exception.getResponse() as { message?: string | string[] };
    const reasons = [message ?? exception.message].flat().join('; ');
    this.logger.warn(`Rejected a reading on ${topic} from ${clientId ?? 'the server'}: ${reasons}`);
    // Outside HTTP, Nest takes a filter's `undefined` for "not handled" and rethrows; anything else handles it.
    return null;
  }
}
