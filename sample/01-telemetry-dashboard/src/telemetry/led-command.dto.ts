import { IsIn } from 'class-validator';
import type { LedState } from '../topics.js';

/** A dashboard's request on `devices/<id>/led`, and a device's acknowledgement. The global ValidationPipe enforces it. */
export class LedCommandDto {
  @IsIn(['on', 'off'])
  led: LedState;
}
