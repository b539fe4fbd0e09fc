import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isOpen, nextOpening } from './business-hours.ts';
import type { BusinessHours } from './routing.types.ts';

const at = (iso: string): number => Date.parse(iso);
const WEEKDAYS = { mon: [['09:00', '18:00']], tue: [['09:00', '18:00']], wed: [['09:00', '18:00']], thu: [['09:00', '18:00']], fri: [['09:00', '18:00']] } as const;
const berlin: BusinessHours = { timeZone: 'Europe/Berlin', weekly: WEEKDAYS };

test('open within a weekday range in the zone (start included, end not), closed outside and at weekends', () => {
  // Monday 2026-11-30, Berlin is UTC+1.
  assert.equal(isOpen(berlin, at('2026-11-30T07:59:59Z')), false);
  assert.equal(isOpen(berlin, at('2026-11-30T08:00:00Z')), true);
  assert.equal(isOpen(berlin, at('2026-11-30T16:59:59Z')), true);
  assert.equal(isOpen(berlin, at('2026-11-30T17:00:00Z')), false);
  assert.equal(isOpen(berlin, at('2026-12-05T10:00:00Z')), false, 'Saturday');
});

test('daylight saving: the same wall-clock hours are an hour apart in UTC either side of the change', () => {
  const everyDay: BusinessHours = { timeZone: 'Europe/Berlin', weekly: { sat: [['09:00', '18:00']], sun: [['09:00', '18:00']], mon: [['09:00', '18:00']] } };
  // Saturday 2026-03-28 is CET (UTC+1); the clocks go forward on Sunday 2026-03-29 at 02:00.
  assert.equal(isOpen(everyDay, at('2026-03-28T07:30:00Z')), false);
  assert.equal(isOpen(everyDay, at('2026-03-28T08:00:00Z')), true);
  assert.equal(isOpen(everyDay, at('2026-03-29T07:00:00Z')), true, 'Sunday 09:00 CEST');
  assert.equal(isOpen(everyDay, at('2026-03-29T16:00:00Z')), false, 'Sunday 18:00 CEST');
  assert.equal(nextOpening(everyDay, at('2026-03-28T20:00:00Z')), at('2026-03-29T07:00:00Z'));
  // Back on Sunday 2026-10-25 at 03:00 CEST → 02:00 CET.
  assert.equal(nextOpening(everyDay, at('2026-10-24T20:00:00Z')), at('2026-10-25T08:00:00Z'));
  assert.equal(isOpen(everyDay, at('2026-10-25T16:59:00Z')), true, 'Sunday 17:59 CET');
});

test('a range that starts in the spring-forward gap opens when the clock jumps', () => {
  const night: BusinessHours = { timeZone: 'Europe/Berlin', weekly: { sun: [['02:30', '05:00']] } };
  // 02:00 CET → 03:00 CEST happens at 01:00Z; 02:30 never shows on the clock that night.
  assert.equal(nextOpening(night, at('2026-03-28T22:00:00Z')), at('2026-03-29T01:00:00Z'));
  assert.equal(isOpen(night, at('2026-03-29T01:00:00Z')), true);
  assert.equal(isOpen(night, at('2026-03-29T00:59:00Z')), false);
});

test('a time that happens twice (clocks go back) opens at its first occurrence', () => {
  const night: BusinessHours = { timeZone: 'Europe/Berlin', weekly: { sun: [['02:30', '05:00']] } };
  // 02:30 CEST is 00:30Z on 2026-10-25; it happens again at 01:30Z (CET).
  assert.equal(nextOpening(night, at('2026-10-24T20:00:00Z')), at('2026-10-25T00:30:00Z'));
});

test('holidays are whole local days closed, even when the UTC date is another', () => {
  const tokyo: BusinessHours = { timeZone: 'Asia/Tokyo', weekly: { thu: [['00:00', '24:00']], fri: [['00:00', '24:00']] }, holidays: ['2026-12-24'] };
  // 2026-12-23T15:30Z is Thursday 24 December 00:30 in Tokyo.
  assert.equal(isOpen(tokyo, at('2026-12-23T15:30:00Z')), false);
  assert.equal(isOpen(tokyo, at('2026-12-23T14:59:00Z')), false, 'Wednesday 23:59 in Tokyo: not a listed day');
  assert.equal(isOpen(tokyo, at('2026-12-24T15:00:00Z')), true, 'Friday 25 December 00:00 in Tokyo');
  assert.equal(nextOpening(tokyo, at('2026-12-23T15:30:00Z')), at('2026-12-24T15:00:00Z'));
});

test('the next opening skips a holiday and the weekend; it is now when open; never for no hours', () => {
  const withHoliday: BusinessHours = { ...berlin, holidays: ['2026-12-25'] };
  // Thursday 2026-12-24 19:00 local → Friday is a holiday → Monday 2026-12-28 09:00 CET.
  assert.equal(nextOpening(withHoliday, at('2026-12-24T18:00:00Z')), at('2026-12-28T08:00:00Z'));
  assert.equal(nextOpening(withHoliday, at('2026-12-24T10:00:00Z')), at('2026-12-24T10:00:00Z'));
  assert.equal(nextOpening({ timeZone: 'UTC', weekly: {} }, at('2026-12-24T10:00:00Z')), undefined);
});

test('several ranges a day: closed at lunch, the afternoon range is next', () => {
  const split: BusinessHours = { timeZone: 'America/New_York', weekly: { mon: [['13:00', '17:00'], ['08:00', '12:00']] } };
  // Monday 2026-11-30 12:30 EST (UTC−5).
  assert.equal(isOpen(split, at('2026-11-30T17:30:00Z')), false);
  assert.equal(nextOpening(split, at('2026-11-30T17:30:00Z')), at('2026-11-30T18:00:00Z'));
  assert.equal(isOpen(split, at('2026-11-30T13:00:00Z')), true);
});
