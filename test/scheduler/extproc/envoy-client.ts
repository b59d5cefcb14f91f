// A real gRPC client playing Envoy's part of the ext_proc protocol in FULL_DUPLEX_STREAMED mode.
import { ChannelCredentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import type { Client, ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import { externalProcessorService } from '../../../scheduler/extproc/codec.ts';
import type {
  HeaderValue,
  ProcessingRequest,
  ProcessingResponse,
  ProtoStruct,
} from '../../../scheduler/extproc/messages.ts';

const ExtProcClient = makeGenericClientConstructor(externalProcessorService, 'ExternalProcessor');

export function connectExtProc(
  port: number,
  credentials: ChannelCredentials = ChannelCredentials.createInsecure(),
  options: Record<string, string | number> = {},
): Client {
  return new ExtProcClient(`127.0.0.1:${port}`, credentials, {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    ...options,
  });
}

type ProcessMethod = (this: Client) => ClientDuplexStream<ProcessingRequest, ProcessingResponse>;

export interface StreamEnd {
  readonly code: number;
  readonly details: string;
}

/** One ext_proc stream with a queue of the responses received so far. */
export class EnvoyStream {
  readonly call: ClientDuplexStream<ProcessingRequest, ProcessingResponse>;
  readonly received: ProcessingResponse[] = [];
  readonly ended: Promise<StreamEnd>;
  private waiters: (() => void)[] = [];

  constructor(client: Client) {
    this.call = (client as unknown as { Process: ProcessMethod }).Process.call(client);
    this.call.on('data', (response: ProcessingResponse) => {
      this.received.push(response);
      this.wake();
    });
    this.ended = new Promise((resolve) => {
      this.call.on('status', (status: { code: number; details: string }) => {
        resolve({ code: status.code, details: status.details });
        this.wake();
      });
      this.call.on('error', (error: ServiceError) => {
        resolve({ code: error.code, details: error.details });
        this.wake();
      });
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) {
      waiter();
    }
  }

  /** Resolves once at least `count` responses arrived (rejects after `timeoutMs`). */
  async waitFor(count: number, timeoutMs = 5000): Promise<ProcessingResponse[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > deadline) {
        throw new Error(`expected ${count} ext_proc responses, got ${this.received.length}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.received.slice(0, count);
  }

  requestHeaders(
    headers: Readonly<Record<string, string>>,
    endOfStream: boolean,
    metadata?: ProtoStruct,
  ): void {
    this.call.write({
      requestHeaders: { headers: { headers: headerList(headers) }, endOfStream },
      ...(metadata !== undefined ? { metadataContext: { filterMetadata: metadataOf(metadata) } } : {}),
    });
  }

  requestBody(body: Buffer, endOfStream: boolean): void {
    this.call.write({ requestBody: { body, endOfStream } });
  }

  responseHeaders(
    headers: Readonly<Record<string, string>>,
    endOfStream: boolean,
    servedEndpoint?: string,
  ): void {
    this.call.write({
      responseHeaders: { headers: { headers: headerList(headers) }, endOfStream },
      ...(servedEndpoint !== undefined
        ? {
            metadataContext: {
              filterMetadata: {
                'envoy.lb': {
                  fields: { 'x-gateway-destination-endpoint-served': { stringValue: servedEndpoint } },
                },
              },
            },
          }
        : {}),
    });
  }

  responseBody(body: Buffer, endOfStream: boolean): void {
    this.call.write({ responseBody: { body, endOfStream } });
  }

  end(): void {
    this.call.end();
  }

  cancel(): void {
    this.call.cancel();
  }
}

function headerList(headers: Readonly<Record<string, string>>): HeaderValue[] {
  return Object.entries(headers).map(([key, value]) => ({ key, rawValue: Buffer.from(value) }));
}

function metadataOf(struct: ProtoStruct): Record<string, ProtoStruct> {
  const result: Record<string, ProtoStruct> = {};
  for (const [key, value] of Object.entries(struct.fields ?? {})) {
    if (value.structValue != null) {
      result[key] = value.structValue;
    }
  }
  return result;
}

/** Subset-hint metadata as the gateway sends it. */
export function subsetHint(endpoints: readonly string[]): ProtoStruct {
  return {
    fields: {
      'envoy.lb.subset_hint': {
        structValue: {
          fields: {
            'x-gateway-destination-endpoint-subset': {
              listValue: { values: endpoints.map((stringValue) => ({ stringValue })) },
            },
          },
        },
      },
    },
  };
}

/** The value of a header the router set in a header mutation. */
export function mutatedHeader(response: ProcessingResponse | undefined, name: string): string | undefined {
  const mutation = response?.requestHeaders?.response?.headerMutation ?? response?.immediateResponse?.headers;
  const option = mutation?.setHeaders?.find((entry) => entry.header.key === name);
  if (option === undefined) {
    return undefined;
  }
  const raw = option.header.rawValue;
  return raw != null && raw.length > 0 ? Buffer.from(raw).toString('utf8') : (option.header.value ?? '');
}

/** The streamed body chunks of request-body (or response-body) responses, in order. */
export function streamedChunks(
  responses: readonly ProcessingResponse[],
  direction: 'requestBody' | 'responseBody',
): { body: Buffer; endOfStream: boolean }[] {
  const chunks: { body: Buffer; endOfStream: boolean }[] = [];
  for (const response of responses) {
    const streamed = response[direction]?.response?.bodyMutation?.streamedResponse;
    if (streamed != null) {
      chunks.push({ body: Buffer.from(streamed.body ?? []), endOfStream: streamed.endOfStream === true });
    }
  }
  return chunks;
}

export async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error('condition not met in time');
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
