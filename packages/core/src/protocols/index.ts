/** The protocol layer: one codec per wire, and the Conversation they translate through. */
import type { WireCodec } from './codec.js';
import type { Wire } from './conversation.js';
import { chatCodec } from './chat/index.js';
import { messagesCodec } from './messages/index.js';

/** The codec of each wire. */
export const CODECS: Readonly<Partial<Record<Wire, WireCodec>>> = { chat: chatCodec, messages: messagesCodec };

/** The codec of a wire; throws for a wire without one. */
export function codecFor(wire: Wire): WireCodec {
  const codec = CODECS[wire];
  if (!codec) throw new Error(`no codec for the ${wire} wire`);
  return codec;
}

export * from './conversation.js';
export * from './codec.js';
export * from './answer.js';
export { errorHeaders } from './error-headers.js';
export { chatCodec } from './chat/index.js';
export { messagesCodec } from './messages/index.js';
export { readWireParts } from './read-parts.js';
