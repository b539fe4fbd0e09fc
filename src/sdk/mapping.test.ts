import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BadUpstreamDataError } from './errors.ts';
import { field, MAX_ATTRIBUTES, minorToDecimal, money, sourceAttributes, utcFromEpochMs, utcFromLocal, utcFromZoned, withAttributes } from './mapping.ts';

const badField = (name: string) => (err: unknown) => err instanceof BadUpstreamDataError && err.code === 'CONNECTOR_BAD_DATA' && err.message.includes(name);

test('field reads a value of the right kind and names the field that is missing or of the wrong kind', () => {
  assert.equal(field({ id: 7 }, 'id', 'integer'), 7);
  assert.equal(field({}, 'note', 'string', { optional: true }), undefined);
  assert.throws(() => field({ lines: {} }, 'lines', 'array', { path: 'order' }), badField('order.lines'));
  assert.throws(() => field({ id: 1.5 }, 'id', 'integer'), badField('id should be an integer'));
  assert.throws(() => field(null, 'id', 'string'), BadUpstreamDataError);
});

test('money is exact: minor units and decimal strings without floating point', () => {
  assert.equal(minorToDecimal(12345), '123.45');
  assert.equal(minorToDecimal(-5), '-0.05');
  assert.equal(minorToDecimal(7, 0), '7');
  assert.deepEqual(money('12.3', 'EUR'), { amount: '12.30', currency: 'EUR' });
  assert.throws(() => money('12.345', 'EUR', 'total'), badField('total'));
});

test('timestamps become RFC 3339 UTC: local in the backend zone (a DST gap resolves forward), zoned, epoch ms', () => {
  assert.equal(utcFromLocal('2024-03-05T10:15:30', 'createdAt', 'Europe/Berlin'), '2024-03-05T09:15:30.000Z');
  assert.equal(utcFromLocal('2024-03-31T02:30:00', 'createdAt', 'Europe/Berlin'), '2024-03-31T01:30:00.000Z');
  assert.equal(utcFromZoned('2023-05-01T10:00:00+02:00', 'at'), '2023-05-01T08:00:00.000Z');
  assert.equal(utcFromEpochMs(0, 'at'), '1970-01-01T00:00:00.000Z');
  assert.throws(() => utcFromZoned('2023-05-01T10:00:00', 'at'), badField('at'));
  assert.throws(() => utcFromLocal('yesterday', 'createdAt'), badField('createdAt'));
});

test('local times around daylight-saving changes map right minute by minute, asked once or again (offsets are remembered per quarter hour)', () => {
  const wallClock = (iso: string, timeZone: string) =>
    new Intl.DateTimeFormat('sv-SE', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(new Date(iso)).replace(' ', 'T');
  // Berlin's switches at 02:00/03:00 local, Lord Howe's by half an hour at 02:00, Kathmandu at +05:45.
  const days = [['Europe/Berlin', '2024-03-31'], ['Europe/Berlin', '2024-10-27'], ['Australia/Lord_Howe', '2024-04-07'], ['Australia/Lord_Howe', '2024-10-06'], ['Asia/Kathmandu', '2024-06-01']] as const;
  for (const [zone, day] of days) {
    for (let pass = 0; pass < 2; pass++) {
      for (let minute = 0; minute < 4 * 60; minute += 1) {
        const local = `${day}T${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}:00`;
        const utc = utcFromLocal(local, 'at', zone);
        const back = wallClock(utc, zone);
        // A local time in a spring-forward gap does not exist: it resolves forward, to a later wall time.
        assert.ok(back === local || back > local, `${zone} ${local} → ${utc} → ${back} (pass ${pass})`);
        if (back !== local) assert.ok(Date.parse(`${back}Z`) - Date.parse(`${local}Z`) <= 60 * 60 * 1000, `${zone} ${local} moved by more than the gap`);
      }
    }
  }
});

test('sourceAttributes keeps the fields a mapper did not map, as given, and nothing when there are none', () => {
  const raw = { id: 7, name: 'Ada', petCount: 2, address: { city: 'Madison' }, fax: null, later: undefined };
  assert.deepEqual(sourceAttributes(raw, ['id', 'name']), { petCount: 2, address: { city: 'Madison' }, fax: null });
  assert.equal(sourceAttributes({ id: 7 }, ['id']), undefined);
  assert.equal(sourceAttributes('not a record', []), undefined);
  assert.deepEqual(withAttributes(undefined), {});
  assert.deepEqual(withAttributes({ a: 1 }), { attributes: { a: 1 } });
});

test('sourceAttributes stays within the attributes schema: keys of at most 64 characters, at most 50 of them, in the source order', () => {
  const many = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`f${String(i).padStart(2, '0')}`, i]));
  const kept = sourceAttributes({ ['k'.repeat(65)]: 'too long a key', ...many }, [])!;
  assert.equal(Object.keys(kept).length, MAX_ATTRIBUTES);
  assert.equal('k'.repeat(65) in kept, false);
  assert.deepEqual(Object.keys(kept).slice(0, 2), ['f00', 'f01']);
  assert.equal(kept.f49, 49);
});
