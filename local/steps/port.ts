/** The local API's port: checked before minutes of setup, and one-line errors when it is taken. */
import * as net from 'net';

import { HOST, LocalModeError } from './run';

/** Fails fast when the API's port is taken. */
export function ensurePortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (e) => reject(portError(port, e)));
    probe.listen(port, HOST, () => probe.close(() => resolve()));
  });
}

/** A listen error on `port`, in the user's words when it is one they can fix. */
export function portError(port: number, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE')
    return new LocalModeError(`port ${port} on ${HOST} is already in use; stop what uses it or pass --port <another> (0 picks a free one)`);
  if (code === 'EACCES')
    return new LocalModeError(`not allowed to listen on port ${port}; pass --port 1024 or higher (0 picks a free one)`);
  return e as Error;
}
