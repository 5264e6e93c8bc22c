/**
 * One generation attempt on any wire: passthrough when the attempt's provider speaks the caller's wire, translation
 * into the provider's own wire otherwise. The endpoints, `/api/chat` and `req.llm` all call providers through here.
 */
import { SwitchyardError } from '../errors.js';
import { readBody } from '../providers/openai-provider.js';
import type { CallOptions, GenerateRequest, JsonBody, ProviderV2, UpstreamResponse, UpstreamTarget } from '../providers/provider.js';
import type { Wire } from '../protocols/conversation.js';
import { CODECS, codecFor } from '../protocols/index.js';
import type { TranslationTarget } from '../protocols/codec.js';
import { readWireParts } from '../protocols/read-parts.js';
import type { StreamPart } from '../stream/parts.js';
import type { Route } from './route.js';

/** What one generation attempt got back: the upstream's answer and the wire it speaks. */
export interface Generation {
  /** The wire the upstream was called on. */
  wire: Wire;
  /** Whether the request went on as it came (only `model` rewritten), or was translated. */
  passthrough: boolean;
  response: UpstreamResponse;
}

/** The wires a route's upstream speaks, preferred first. A caller's relay stands at the provider's main base URL only. */
export function wiresFor(route: Route, provider: ProviderV2): readonly Wire[] {
  if (provider.wires) return provider.wires;
  const { wires, wireBaseUrls } = route.provider;
  if (route.baseUrlSource !== 'caller') return wires;
  const here = wires.filter((wire) => wireBaseUrls[wire] === undefined);
  return here.length > 0 ? here : wires;
}

/** Who a request is translated for, on an attempt's target. */
export function translationTarget(target: UpstreamTarget, wire: Wire): TranslationTarget {
  const { provider } = target.route;
  return { wire, provider: provider.id, model: target.model, reasoningParameter: provider.reasoningParameter, cacheControl: provider.cacheControl };
}

/** The wire a request on `inWire` goes out on to this upstream: its own when spoken there, else the first spoken one with a codec. */
export function upstreamWire(inWire: Wire, wires: readonly Wire[]): Wire {
  if (wires.includes(inWire)) return inWire;
  return wires.find((wire) => (CODECS as Partial<Record<Wire, unknown>>)[wire] !== undefined) ?? (wires[0] as Wire);
}

/**
 * Calls `provider` for one attempt of a request that arrived on `inWire` with `body`. Passthrough sends the body with
 * only `model` replaced; translation decodes it into a Conversation and encodes it for the upstream's wire (a 400,
 * before any network call, for what that wire cannot carry).
 */
export function generate(provider: ProviderV2, target: UpstreamTarget, inWire: Wire, body: JsonBody, call: CallOptions, headers?: Readonly<Record<string, string>>): Promise<Generation> {
  const wire = upstreamWire(inWire, wiresFor(target.route, provider));
  let request: GenerateRequest;
  if (wire === inWire) {
    request = { wire, body: target.model === body.model ? body : { ...body, model: target.model }, headers };
  } else {
    const translation = translationTarget(target, wire);
    const conversation = codecFor(inWire).decodeRequest(body, translation);
    request = { wire, body: codecFor(wire).encodeRequest(conversation, translation), headers };
  }
  return provider.doGenerate(target, request, call).then((response) => ({ wire, passthrough: wire === inWire, response }));
}

/** Whether an upstream answered with SSE (some ignore `stream: true` and answer JSON). */
export function isEventStream(response: UpstreamResponse): boolean {
  const type = response.headers['content-type'];
  return typeof type === 'string' && type.includes('text/event-stream');
}

/** The parts of a generation's answer, streamed or whole, decoded in the upstream's wire. */
export async function* generationParts(generation: Generation, options: { provider?: string | undefined; signal?: AbortSignal | undefined; limit: number }): AsyncGenerator<StreamPart, void, undefined> {
  const codec = codecFor(generation.wire);
  const { response } = generation;
  if (isEventStream(response)) {
    yield* readWireParts(response.body, codec.createDecoder({ provider: options.provider }), options.signal);
    return;
  }
  const text = await readBody(response.body, options.limit);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    yield { type: 'error', error: new SwitchyardError('upstream_error', 'The upstream answer is not JSON.', { provider: options.provider }) };
    return;
  }
  yield* codec.decodeAnswer(json, { provider: options.provider });
}
