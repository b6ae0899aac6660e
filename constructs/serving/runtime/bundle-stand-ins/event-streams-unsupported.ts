/**
 * Stands in for `@smithy/core/event-streams` in the proxy Lambda's bundle (an esbuild alias in
 * inference-proxy.ts). The proxy calls InvokeEndpoint only; the event-stream codec exists for
 * InvokeEndpointWithResponseStream, which it never calls. The client still wires an event-stream marshaller at
 * construction, so this module keeps that wiring and fails clearly if an event stream is ever used.
 */
const UNSUPPORTED = 'Event streams are not bundled in the inference proxy (it calls InvokeEndpoint only)';

function unsupported(): never {
  throw new Error(UNSUPPORTED);
}

/** The marshaller factory the client's runtime config names: one whose every use fails. */
export const eventStreamSerdeProvider = (): { serialize: () => never; deserialize: () => never } => ({
  serialize: unsupported,
  deserialize: unsupported,
});

/** As in @smithy/core: puts the provider's marshaller on the client config. */
export const resolveEventStreamSerdeConfig = <T extends { eventStreamSerdeProvider: (input: T) => unknown }>(
  input: T,
): T & { eventStreamMarshaller: unknown } => Object.assign(input, { eventStreamMarshaller: input.eventStreamSerdeProvider(input) });

/** Loaded by the protocol layer only for an operation with an event stream. */
export class EventStreamSerde {
  constructor() {
    unsupported();
  }
}
