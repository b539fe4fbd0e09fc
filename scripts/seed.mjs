#!/usr/bin/env node
// Writes the one deterministic seed data set the three sample backends share: the same people
// under different local ids in each system, the CRM holding the others' ids.
// Usage: node scripts/seed.mjs [outDir]   (default $OMNIGATE_SEED_DIR or .data/seed)
// Plain JavaScript on purpose: it runs on any Node before the project's toolchain exists.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SEED = 20261127;
const CUSTOMERS = 1000;
const ORDERS = 10_000;
const TICKETS = 3000;
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(process.argv[2] ?? process.env.OMNIGATE_SEED_DIR ?? join(root, '.data/seed'));

// mulberry32: small, fast and the same on every platform
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(SEED);
const int = (min, max) => min + Math.floor(rand() * (max - min + 1));
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const weighted = (pairs) => {
  const total = pairs.reduce((s, [, w]) => s + w, 0);
  let r = rand() * total;
  for (const [v, w] of pairs) if ((r -= w) < 0) return v;
  return pairs[pairs.length - 1][0];
};
const pad = (n, w) => String(n).padStart(w, '0');
const hex = (n) => Array.from({ length: n }, () => pick('0123456789abcdef')).join('');

const FIRST = ['Anna', 'Ben', 'Chloé', 'David', 'Elif', 'Farid', 'Greta', 'Hugo', 'Ines', 'Jonas', 'Kira', 'Luca',
  'Maya', 'Noah', 'Olga', 'Pablo', 'Quinn', 'Rosa', 'Sven', 'Tara', 'Umar', 'Vera', 'Wim', 'Xenia', 'Yusuf', 'Zoé'];
const LAST = ['Müller', 'Schmidt', 'Dubois', 'García', 'Rossi', 'Nowak', 'Jansen', 'Silva', 'Andersen', 'Kowalski',
  'Martin', 'Bernard', 'Fischer', 'Weber', 'López', 'Moreau', 'Novak', 'Horvat', 'Berg', 'Costa'];
const LANGS = [['en', 40], ['de', 25], ['fr', 15], ['es', 12], ['it', 8]];
const TIERS = [['standard', 80], ['gold', 15], ['vip', 5]];
const OFFSETS = ['+00:00', '+01:00', '+02:00', '-05:00', '+05:30'];
const PRODUCTS = [['SKU-KB-01', 'Mechanical keyboard', 8999], ['SKU-MS-02', 'Wireless mouse', 2999],
  ['SKU-HD-03', 'Noise-cancelling headset', 19900], ['SKU-MN-04', '27" monitor', 32900],
  ['SKU-DK-05', 'Docking station', 14950], ['SKU-CB-06', 'USB-C cable', 1299], ['SKU-WC-07', 'Webcam', 6900],
  ['SKU-CH-08', 'Desk chair', 24900], ['SKU-LP-09', 'Laptop stand', 3999], ['SKU-SP-10', 'Speaker set', 5499]];
const ORDER_STATUSES = [['DELIVERED', 55], ['IN_DELIVERY', 10], ['PAID', 10], ['PAYMENT_PENDING', 5], ['NEW', 5],
  ['CANCELLED', 8], ['RETURNED', 7]];
const TICKET_STATUSES = [['closed', 40], ['solved', 20], ['open', 20], ['pending', 10], ['new', 10]];
const PRIORITIES = [['low', 20], ['normal', 55], ['high', 20], ['urgent', 5]];
const SUBJECTS = ['Where is my order?', 'Refund not received', 'Wrong item delivered', 'Cannot log in',
  'Change delivery address', 'Invoice request', 'Product arrived damaged', 'Cancel my order',
  'Warranty question', 'Discount code not working'];

const START = Date.UTC(2023, 0, 1);
const END = Date.UTC(2026, 9, 31);
const isoLocal = (ms) => new Date(ms).toISOString().slice(0, 19);
function isoZoned(ms, offset) {
  const sign = offset[0] === '-' ? -1 : 1;
  const [h, m] = offset.slice(1).split(':').map(Number);
  return isoLocal(ms + sign * (h * 60 + m) * 60_000) + offset;
}

const people = [];
const usedUserIds = new Set();
for (let i = 0; i < CUSTOMERS; i++) {
  const first = pick(FIRST);
  const last = pick(LAST);
  let userId;
  do userId = `u_${hex(8)}`; while (usedUserIds.has(userId));
  usedUserIds.add(userId);
  const ascii = `${first}.${last}`.normalize('NFD').replace(/[^A-Za-z.]/g, '').toLowerCase();
  people.push({
    crmId: i + 1,
    customerNo: `C-${100001 + i}`,
    userId,
    first,
    last,
    email: `${ascii}.${i + 1}@example.com`,
    phone: `+49 30 ${pad(int(1000000, 9999999), 7)}`,
    tier: weighted(TIERS),
    language: weighted(LANGS),
    offset: pick(OFFSETS),
    createdMs: START + Math.floor(rand() * (END - START) * 0.5),
  });
}

const orders = [];
const lines = [];
const spend = new Map();
for (let i = 0; i < ORDERS; i++) {
  const p = people[Math.floor(Math.pow(rand(), 1.5) * CUSTOMERS)];
  const orderId = `ORD-${pad(i + 1, 7)}`;
  const createdMs = p.createdMs + Math.floor(rand() * (END - p.createdMs));
  let total = 0;
  const count = int(1, 4);
  for (let n = 1; n <= count; n++) {
    const [sku, name, price] = pick(PRODUCTS);
    const quantity = int(1, 3);
    total += quantity * price;
    lines.push([orderId, n, sku, name, quantity, price]);
  }
  const status = weighted(ORDER_STATUSES);
  if (status !== 'CANCELLED') spend.set(p.crmId, (spend.get(p.crmId) ?? 0) + total);
  orders.push([orderId, p.customerNo, status, 'EUR', isoLocal(createdMs - (createdMs % 1000)), total]);
}

const tickets = [];
for (let i = 0; i < TICKETS; i++) {
  const p = people[int(0, CUSTOMERS - 1)];
  const createdAt = p.createdMs + Math.floor(rand() * (END - p.createdMs));
  tickets.push({
    ticketId: `TCK-${100001 + i}`,
    requesterId: p.userId,
    subject: pick(SUBJECTS),
    description: `Customer ${p.first} wrote in about: ${pick(SUBJECTS).toLowerCase()}`,
    status: weighted(TICKET_STATUSES),
    priority: weighted(PRIORITIES),
    channel: pick(['email', 'chat', 'phone']),
    tags: rand() < 0.3 ? [pick(['shipping', 'billing', 'account', 'product'])] : [],
    createdAt,
    updatedAt: createdAt + int(0, 14 * 86_400_000),
  });
}

const minorToDecimal = (minor) => `${Math.floor(minor / 100)}.${pad(minor % 100, 2)}`;
const crm = people.map((p) => ({
  id: p.crmId,
  first_name: p.first,
  last_name: p.last,
  email: p.email,
  phone: p.phone,
  tier: p.tier,
  language: p.language,
  created_at: isoZoned(p.createdMs - (p.createdMs % 1000), p.offset),
  lifetime_value: minorToDecimal(spend.get(p.crmId) ?? 0),
  currency: 'EUR',
  external_ids: { orders_customer_no: p.customerNo, tickets_user_id: p.userId },
}));
const tsv = (header, rows) => [header.join('\t'), ...rows.map((r) => r.join('\t'))].join('\n') + '\n';

mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'crm-customers.json'), JSON.stringify(crm, null, 1));
writeFileSync(join(outDir, 'orders-customers.tsv'),
  tsv(['customerNo', 'fullName', 'email'], people.map((p) => [p.customerNo, `${p.first} ${p.last}`, p.email])));
writeFileSync(join(outDir, 'orders.tsv'),
  tsv(['orderId', 'customerNo', 'status', 'currency', 'createdAt', 'totalAmountMinor'], orders));
writeFileSync(join(outDir, 'order-lines.tsv'),
  tsv(['orderId', 'lineNo', 'sku', 'productName', 'quantity', 'unitPriceMinor'], lines));
// The catalogue: every product the order lines use, in the list's order (no random draws, so the rest of the seed is unchanged).
writeFileSync(join(outDir, 'products.tsv'),
  tsv(['sku', 'name', 'unitPriceMinor', 'currency'], PRODUCTS.map(([sku, name, price]) => [sku, name, price, 'EUR'])));
writeFileSync(join(outDir, 'tickets.json'), JSON.stringify({
  users: people.map((p) => ({ userId: p.userId, displayName: `${p.first} ${p.last}`, email: p.email })),
  tickets,
}));
process.stdout.write(`seed: ${CUSTOMERS} customers, ${ORDERS} orders, ${PRODUCTS.length} products, ${TICKETS} tickets → ${outDir}\n`);
