import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

const port = Number(process.env.PORT ?? 3001);

const app = await NestFactory.create(AppModule);
app.enableShutdownHooks();
await app.listen(port);
new Logger('Chat').log(`Chat on http://localhost:${port}/ (users alice, bob, carol), MQTT on ws://localhost:${port}/mqtt`);
