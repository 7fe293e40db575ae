/** RFC 6455 §7.4.1 close codes the server sends or reads. */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  NoStatus: 1005,
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  TooBig: 1009,
} as const;

/**
 * An error that ends a connection, with the WebSocket close code its close frame carries. Whoever
 * destroys a connection's stream (`stream.destroy(error)`: Aedes on a parse error, the broker
 * limits on a refusal) may set `closeCode` on the error; without it an error closes with 1002
 * (protocol error), and an end without error with 1000.
 */
export type ErrorWithCloseCode = Error & { closeCode?: number };

/** Gives `error` the close code of its close frame, and returns it: `stream.destroy(withCloseCode(new Error('…'), CloseCode.TooBig))`. */
export function withCloseCode<E extends Error>(error: E, closeCode: number): E & { closeCode: number } {
  (error as ErrorWithCloseCode).closeCode = closeCode;
  return error as E & { closeCode: number };
}

/** The close code for a connection ended by `error` (none: a clean end). */
export function closeCodeOf(error: Error | null | undefined, fallback: number = CloseCode.ProtocolError): number {
  if (!error) return CloseCode.Normal;
  const code = (error as ErrorWithCloseCode).closeCode;
  return typeof code === 'number' && isSendableCloseCode(code) ? code : fallback;
}

/** Codes an endpoint may put in a close frame (RFC 6455 §7.4): 1004-1006 and 1015 are reserved for local use. */
export function isSendableCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}
