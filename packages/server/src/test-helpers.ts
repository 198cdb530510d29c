/** Helpers shared by the server's tests (not exported from the package). */
import sharp from 'sharp';
import type { RgbImage } from '@latentkit/pipeline';

/** Decodes a base64 PNG to 8-bit RGB. */
export async function pngToRgb(base64: string): Promise<RgbImage> {
  const { data, info } = await sharp(Buffer.from(base64, 'base64')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** One Server-Sent Event. */
export interface ServerSentEvent {
  readonly event: string;
  readonly data: Record<string, unknown>;
}

/** Reads a `text/event-stream` response to its end, calling `onEvent` for each event. */
export async function readEvents(url: string, init: RequestInit = {}, onEvent?: (event: ServerSentEvent) => void): Promise<ServerSentEvent[]> {
  const response = await fetch(url, init);
  if (!response.ok || !response.body) throw new Error(`events: HTTP ${response.status}`);
  const events: ServerSentEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) {
        const parsed = { event, data: JSON.parse(data) as Record<string, unknown> };
        events.push(parsed);
        onEvent?.(parsed);
      }
    }
  }
  return events;
}

/** The red-circle request the tiny model's card recommends (DDIM, 20 steps, guidance 5). */
export const RED_CIRCLE = { prompt: 'a red circle on a blue background', sampler_name: 'DDIM', steps: 20, cfg_scale: 5, seed: 11 } as const;

/** A finished HTTP response, read whole. */
export interface TestResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  json(): any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** An HTTP request over loopback (fastify's inject needs an ESM-only dependency jest cannot load). */
export async function call(
  base: string,
  url: string,
  options: { method?: string; payload?: unknown; headers?: Record<string, string> } = {},
): Promise<TestResponse> {
  const hasBody = options.payload !== undefined;
  const response = await fetch(new URL(url, base), {
    method: options.method ?? (hasBody ? 'POST' : 'GET'),
    headers: { ...(hasBody && typeof options.payload !== 'string' ? { 'content-type': 'application/json' } : {}), ...options.headers },
    body: hasBody ? (typeof options.payload === 'string' ? options.payload : JSON.stringify(options.payload)) : undefined,
  });
  const body = await response.text();
  const headers: Record<string, string> = {};
  response.headers.forEach((value, key) => (headers[key] = value));
  return { statusCode: response.status, headers, body, json: () => JSON.parse(body) };
}
