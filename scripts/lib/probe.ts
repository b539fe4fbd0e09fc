import { connect } from 'node:net';

/**
 * True when something on 127.0.0.1:port accepts a TCP connection, and, with `send`/`expect`,
 * answers `send` with a reply starting with `expect` (e.g. Redis's PING → +PONG).
 */
export function probePort(port: number, exchange?: { send: string; expect: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => (exchange ? socket.write(exchange.send) : done(true)));
    if (exchange) socket.once('data', (data) => done(data.toString().startsWith(exchange.expect)));
  });
}
