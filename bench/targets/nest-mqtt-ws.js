// This library in a minimal Nest app on Express; with `--handler`, plus one @MqttSubscribe handler
// (`--responder`: one that answers MQTT 5 requests on `rr/+`);
// with `--redis=<url>`, one instance of a cluster on that Redis; with `--metrics`, `metrics: true`
// (prom-client's default registry), scraped every second as a Prometheus server would, more often;
// with `--enhancers=validation` or `--enhancers=guard-interceptor`, the handler behind those Nest
// features (bench/targets/handler-enhancers.js).
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MqttSubscribe, MqttWsModule, Payload } from 'nestjs-mqtt-ws';
import { decorateMethod, recorder, recorderHandlers } from './dispatch-recorder.js';
import { applyEnhancers } from './handler-enhancers.js';
import { serveTarget } from './host.js';

const withHandler = process.argv.includes('--handler');
const withResponder = process.argv.includes('--responder');
const withMetrics = process.argv.includes('--metrics');
const redisUrl = process.argv.find((arg) => arg.startsWith('--redis='))?.slice('--redis='.length);

class BenchHandler {
  onMessage(message) {
    recorder.onMessage(message);
  }
}
Injectable()(BenchHandler);
decorateMethod(BenchHandler, 'onMessage', [MqttSubscribe('bench/+')], [Payload()]);
const enhancers = process.argv.find((arg) => arg.startsWith('--enhancers='))?.slice('--enhancers='.length);
if (enhancers) applyEnhancers(BenchHandler, 'onMessage', enhancers);

class AppModule {}
const options = { path: '/mqtt', ...(redisUrl ? { redis: { url: redisUrl } } : {}), ...(withMetrics ? { metrics: true } : {}) };
// The request/response scenario (issue 13): a handler that answers each request with its payload, as it is.
class BenchResponder {
  onRequest(payload) {
    return payload;
  }
}
Injectable()(BenchResponder);
decorateMethod(BenchResponder, 'onRequest', [MqttSubscribe('rr/+', { payloadFormat: 'buffer' })], [Payload()]);

Module({ imports: [MqttWsModule.forRoot(options)], providers: [...(withHandler ? [BenchHandler] : []), ...(withResponder ? [BenchResponder] : [])] })(AppModule);

const app = await NestFactory.create(AppModule, { logger: false });
await app.listen(0, '127.0.0.1');
if (withMetrics) {
  const { register } = (await import('prom-client')).default;
  setInterval(() => void register.metrics(), 1000).unref();
}
serveTarget({
  port: app.getHttpServer().address().port,
  info: { transport: 'ws', path: '/mqtt' },
  handlers: recorderHandlers,
  close: () => app.close(),
});
