// @nestjs/microservices' MQTT transport with one @EventPattern handler, consuming from Mosquitto (argv[2] = its TCP port).
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, Payload, Transport } from '@nestjs/microservices';
import { decorateMethod, recorder, recorderHandlers } from './dispatch-recorder.js';
import { serveTarget } from './host.js';

const brokerPort = Number(process.argv[2]);

class BenchController {
  onMessage(message) {
    recorder.onMessage(message);
  }
}
Controller()(BenchController);
decorateMethod(BenchController, 'onMessage', [EventPattern('bench/+')], [Payload()]);

class AppModule {}
Module({ controllers: [BenchController] })(AppModule);

const app = await NestFactory.createMicroservice(AppModule, {
  transport: Transport.MQTT,
  options: { url: `mqtt://127.0.0.1:${brokerPort}` },
  logger: false,
});
await app.listen();
serveTarget({ port: brokerPort, handlers: recorderHandlers, close: () => app.close() });
