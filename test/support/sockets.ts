import { readFileSync } from 'node:fs';

/** The local and remote address columns of every ESTABLISHED TCP socket on this machine (Linux /proc, like CI). */
function establishedSockets(): { local: string; remote: string }[] {
  const sockets: { local: string; remote: string }[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '01' && cols[1] && cols[2]) sockets.push({ local: cols[1], remote: cols[2] });
    }
  }
  return sockets;
}

const hexPort = (port: number): string => `:${port.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Client-side TCP connections on this machine in ESTABLISHED state whose remote end is
 * 127.0.0.1:port (read from /proc/net/tcp{,6}; Linux only, like CI).
 */
export function establishedTo(port: number): number {
  return establishedSockets().filter((s) => s.remote.endsWith(hexPort(port))).length;
}

/**
 * Whether the client-side connection from this local port to 127.0.0.1:remotePort is still
 * ESTABLISHED (Linux /proc). Both ends: once closed, its local port may be reused at once by a
 * connection elsewhere (to Redis, say), which must not count as this one.
 */
export function isEstablished(localPort: number, remotePort: number): boolean {
  return establishedSockets().some((s) => s.local.endsWith(hexPort(localPort)) && s.remote.endsWith(hexPort(remotePort)));
}
