/** `json`: parsed with JSON.parse; `text`: a UTF-8 string; `buffer`: the raw bytes. */
export type PayloadFormat = 'json' | 'text' | 'buffer';
