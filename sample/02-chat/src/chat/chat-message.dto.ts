import { IsString, Length, Matches } from 'class-validator';

/** What a client publishes on `chat/rooms/<room>/send`. The global ValidationPipe enforces it. */
export class ChatMessageDto {
  @IsString()
  @Length(1, 500)
  @Matches(/\S/, { message: 'text must not be blank' })
  text: string;
}
