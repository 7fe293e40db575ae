import { Injectable } from '@nestjs/common';
import { Ctx, getMqttPrincipal, MqttContext, MqttService, MqttSubscribe, Params, Payload } from 'nestjs-mqtt-ws';
import { randomUUID } from 'node:crypto';
import type { ChatUser } from '../auth/users.service.js';
import { HISTORY_LENGTH, topics, type ChatMessage } from '../topics.js';
import { ChatMessageDto } from './chat-message.dto.js';

/**
 * Relays what members send: stamps the author (the publishing connection's principal, never a
 * field of the payload) and the time, publishes the message to the room, and keeps the room's
 * last messages in its retained history.
 */
@Injectable()
export class ChatService {
  private readonly histories = new Map<string, ChatMessage[]>();
  /** History writes of one room, in order, so the retained history is never replaced by an older one. */
  private readonly historyWrites = new Map<string, Promise<void>>();

  constructor(private readonly mqtt: MqttService) {}

  /**
   * Runs after the auth policy let the message in (the sender is a member of the room) and the
   * ValidationPipe accepted it; an invalid message stops at the pipe and reaches nobody.
   */
  @MqttSubscribe('chat/rooms/:room/send')
  async onSend(@Payload() { text }: ChatMessageDto, @Params('room') room: string, @Ctx() context: MqttContext): Promise<void> {
    const author = getMqttPrincipal<ChatUser>(context);
    if (!author) return; // the server's own publications have no author, and the server sends none here
    const message: ChatMessage = { id: randomUUID(), room, user: author.name, text: text.trim(), at: new Date().toISOString() };
    const history = this.histories.get(room) ?? [];
    history.push(message);
    if (history.length > HISTORY_LENGTH) history.shift();
    this.histories.set(room, history);
    await this.mqtt.publish(topics.messages(room), message, { qos: 1 });
    await this.writeHistory(room);
  }

  private writeHistory(room: string): Promise<void> {
    const write = (this.historyWrites.get(room) ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => {
        const messages = this.histories.get(room) ?? [];
        return this.mqtt.publish(topics.history(room), { messages }, { qos: 1, retain: true });
      });
    this.historyWrites.set(room, write);
    return write;
  }
}
