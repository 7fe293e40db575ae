import type { PayloadFormat } from '../interfaces/payload-format.type.js';

/** Marks a payload that could not be decoded, so its handlers are skipped. */
export const UNDECODABLE = Symbol('undecodable payload');
const UNDECODED = Symbol('undecoded');

/**
 * Decodes one message's payload for each format its handlers ask for, once per format however many
 * handlers share it, and only for the formats asked for.
 */
export class PayloadDecoder {
  private json: unknown = UNDECODED;
  private text: string | undefined;
  error: Error | undefined;

  constructor(private readonly payload: Buffer | string) {}

  decode(format: PayloadFormat): unknown {
    switch (format) {
      case 'buffer':
        return typeof this.payload === 'string' ? Buffer.from(this.payload) : this.payload;
      case 'text':
        return (this.text ??= this.payload.toString());
      default:
        if (this.json === UNDECODED) this.json = this.parseJson();
        return this.json;
    }
  }

  private parseJson(): unknown {
    // An empty payload is MQTT's way to clear a retained message, not a JSON document.
    if (this.payload.length === 0) return null;
    try {
      return JSON.parse((this.text ??= this.payload.toString()));
    } catch (error) {
      this.error = error as Error;
      return UNDECODABLE;
    }
  }
}
