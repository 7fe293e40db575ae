// The Nest features whose cost on the dispatch path the bench reports (issue 16): the handler of the
// dispatch scenario with a ValidationPipe on a class-validator DTO, or with a guard and an interceptor.
import { Injectable, UseGuards, UseInterceptors, UsePipes, ValidationPipe } from '@nestjs/common';
import { IsInt, IsNumber, IsString, MaxLength } from 'class-validator';
import { getMqttContext } from 'nestjs-mqtt-ws';
import { tap } from 'rxjs';
import { decorateMethod } from './dispatch-recorder.js';

/** The dispatch workload's JSON payload, `{ seq, t, pad }`, as a DTO. */
export class BenchMessage {}
IsInt()(BenchMessage.prototype, 'seq');
IsNumber()(BenchMessage.prototype, 't');
IsString()(BenchMessage.prototype, 'pad');
MaxLength(64)(BenchMessage.prototype, 'pad');

/** Lets a client through by its id, as an authorization guard would (every bench client passes). */
class ClientGuard {
  canActivate(context) {
    return getMqttContext(context)?.clientId !== 'blocked';
  }
}
Injectable()(ClientGuard);

/** Counts handled messages after the handler, as a logging or metrics interceptor would. */
class CountingInterceptor {
  after = 0;
  intercept(_context, next) {
    return next.handle().pipe(tap(() => this.after++));
  }
}
Injectable()(CountingInterceptor);

export function applyEnhancers(target, method, which) {
  if (which === 'validation') {
    // TypeScript would emit the parameter's type; plain JavaScript states it, so that the pipe knows the DTO.
    Reflect.defineMetadata('design:paramtypes', [BenchMessage], target.prototype, method);
    decorateMethod(target, method, [UsePipes(new ValidationPipe({ transform: true }))]);
  } else if (which === 'guard-interceptor') {
    decorateMethod(target, method, [UseGuards(ClientGuard), UseInterceptors(CountingInterceptor)]);
  } else {
    throw new Error(`--enhancers=${which}: use validation or guard-interceptor`);
  }
}
