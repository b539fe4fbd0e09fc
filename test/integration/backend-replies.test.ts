import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { TEST_PORTS } from '../support/ports.ts';

/**
 * A reply written in two pieces (head, then body) on a keep-alive connection waits for the
 * client's delayed ACK before its second piece leaves (Nagle): ~40 ms per call. Written in one
 * piece it arrives in one read. Counting the reads of a raw socket sees the mechanism, not a time.
 */
function readReply(socket: Socket): Promise<{ reads: number; head: string }> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    let reads = 0;
    const onData = (chunk: Buffer) => {
      reads += 1;
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffered.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (buffered.length < end + 4 + length) return;
      socket.off('data', onData).off('error', reject);
      resolve({ reads, head });
    };
    socket.on('data', onData).once('error', reject);
  });
}

describe('the sample CRM on a keep-alive connection', () => {
  let socket: Socket;
  before(async () => {
    socket = connect(TEST_PORTS.crm, '127.0.0.1');
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  });
  after(() => socket.destroy());

  test('writes each reply in one piece, so no reply waits for a delayed ACK', async () => {
    const request = 'GET /api/customers/42/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token crm-dev-token\r\n\r\n';
    for (let i = 0; i < 3; i += 1) {
      const reply = readReply(socket);
      socket.write(request);
      const { reads, head } = await reply;
      assert.match(head, /^HTTP\/1\.1 200 /);
      assert.equal(reads, 1, `reply ${i + 1} arrived in ${reads} reads`);
    }
  });
});
