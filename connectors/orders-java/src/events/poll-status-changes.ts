import { field, utcFromLocal, type ConnectorContext, type PollResult } from 'omnigate/sdk';
import type { OrdersConfig } from '../config.ts';
import { CANONICAL_STATUS } from '../mappers/to-order.ts';
import { raiseForSpringError } from '../operations/errors.ts';

export const POLL_PAGE = 200;

/**
 * order.status_changed by polling the orders service's change feed. The cursor is
 * "<epoch>:<seq>"; the service starts a new epoch (and sequence) when it restarts, and then the
 * feed is read from its beginning. Event ids are "<epoch>:<seq>", stable across re-reads.
 */
export async function pollStatusChanges(cursor: string | undefined, ctx: ConnectorContext<OrdersConfig>): Promise<PollResult> {
  const [epoch, seq] = cursor ? [cursor.slice(0, cursor.lastIndexOf(':')), cursor.slice(cursor.lastIndexOf(':') + 1)] : ['', '0'];
  const read = async (after: string) => {
    const reply = await ctx.http.request({ path: '/api/orders/changes', query: { after, size: POLL_PAGE } });
    if (reply.status !== 200) raiseForSpringError(reply, 'order changes');
    return reply.body;
  };
  let body = await read(seq);
  const current = field<string>(body, 'epoch', 'string', { path: 'changes' });
  if (epoch && current !== epoch) body = await read('0');
  const changes = field<unknown[]>(body, 'changes', 'array', { path: 'changes' });
  const events = changes.map((change, i) => {
    const at = `changes[${i}]`;
    const n = field<number>(change, 'seq', 'integer', { path: at });
    const orderId = field<string>(change, 'orderId', 'string', { path: at });
    const from = field<string>(change, 'from', 'string', { path: at });
    const to = field<string>(change, 'to', 'string', { path: at });
    const changedAt = utcFromLocal(field<string>(change, 'changedAt', 'string', { path: at }), `${at}.changedAt`, ctx.config.timeZone);
    return {
      id: `${current}:${n}`,
      type: 'order.status_changed',
      subject: orderId,
      time: changedAt,
      data: {
        orderId,
        customerRef: field<string>(change, 'customerNo', 'string', { path: at }),
        // A status the mapping does not know is `other`, as on the order; sourceFrom/sourceTo say it.
        from: CANONICAL_STATUS[from] ?? 'other',
        to: CANONICAL_STATUS[to] ?? 'other',
        sourceFrom: from,
        sourceTo: to,
        changedAt,
      },
    };
  });
  const last = changes.length > 0 ? field<number>(changes[changes.length - 1], 'seq', 'integer') : epoch === current ? Number(seq) : 0;
  return { events, cursor: `${current}:${last}` };
}
