/**
 * The chat's topic tree. Everything about room `<room>` lives under `chat/rooms/<room>/`. The
 * server is the only publisher of `messages`, `history` and `presence`; clients publish only on
 * `send`, so every message other users see was validated and signed with its author by the server.
 */
export const topics = {
  /** Client → server: `{ "text": string }`. Never delivered to clients; the server relays it. */
  send: (room: string) => `chat/rooms/${room}/send`,
  /** Server → members: a `ChatMessage`, one per message, not retained. */
  messages: (room: string) => `chat/rooms/${room}/messages`,
  /** Server → members, retained: `{ "messages": ChatMessage[] }`, the room's last messages, oldest first. */
  history: (room: string) => `chat/rooms/${room}/history`,
  /** Server → members, retained per user: `online` or `offline`; an empty payload clears it (the user left). */
  presence: (room: string, user: string) => `chat/rooms/${room}/presence/${user}`,
};

/** A message as the server relays it: the author and the time come from the server, never from the client. */
export interface ChatMessage {
  id: string;
  room: string;
  user: string;
  text: string;
  /** ISO 8601 */
  at: string;
}

/** How many messages a room's retained history keeps. */
export const HISTORY_LENGTH = 50;
