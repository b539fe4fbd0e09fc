import { readFileSync } from 'node:fs';

/**
 * Client-side TCP connections on this machine in ESTABLISHED state whose remote end is
 * 127.0.0.1:port (read from /proc/net/tcp{,6}; Linux only, like CI).
 */
export function establishedTo(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let count = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const remote = cols[2];
      if (remote?.endsWith(`:${hexPort}`) && cols[3] === '01') count += 1;
    }
  }
  return count;
}

/** Whether the client-side connection from this local port is still ESTABLISHED (Linux /proc). */
export function isEstablished(localPort: number): boolean {
  const hexPort = localPort.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[1]?.endsWith(`:${hexPort}`) && cols[3] === '01') return true;
    }
  }
  return false;
}
