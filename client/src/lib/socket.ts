/** The typed socket.io connection to the server and a promise-returning request helper. */
import { io, type Socket } from 'socket.io-client';
import type { Ack, ClientToServerEvents, ServerToClientEvents } from '../../../server/protocol.js';
import { ApiError, unwrap } from './api.js';

/** A typed client socket. */
export type AppSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Connect to the page's own server. */
export function connect(): AppSocket {
  return io({ transports: ['websocket', 'polling'] });
}

type AckData<E extends keyof ClientToServerEvents> = Parameters<Parameters<ClientToServerEvents[E]>[1]>[0] extends Ack<infer T> ? T : never;

/** Send `event` with `payload` and wait for the ack (at most `timeoutMs`); resolves with data or throws ApiError. */
export async function request<E extends keyof ClientToServerEvents>(
  socket: AppSocket,
  event: E,
  payload: Parameters<ClientToServerEvents[E]>[0],
  timeoutMs = 15_000,
): Promise<AckData<E>> {
  let ack: Ack<AckData<E>>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    ack = await (socket.timeout(timeoutMs) as any).emitWithAck(event, payload);
  } catch {
    throw new ApiError({ code: 'timeout', message: `the server did not answer "${event}" within ${timeoutMs / 1000} s` });
  }
  return unwrap(ack);
}
