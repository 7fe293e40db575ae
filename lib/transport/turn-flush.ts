/** A connection that gathers its output during an event-loop turn and writes it at the turn's end. */
export interface TurnFlushed {
  flush(): void;
}

/** Connections (WebSocket and TCP alike) with output waiting for the end of this turn. */
const waiting: TurnFlushed[] = [];
let flushScheduled = false;

function flushWaiting(): void {
  flushScheduled = false;
  for (let i = 0; i < waiting.length; i++) waiting[i].flush();
  waiting.length = 0;
}

/**
 * Flushes `connection` once the current event-loop turn is over, together with every other
 * connection that got output in it: one shared `setImmediate`, one socket write per connection.
 * Called once per turn per connection, when its first output of the turn arrives.
 */
export function flushAtTurnEnd(connection: TurnFlushed): void {
  waiting.push(connection);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushWaiting);
  }
}
