import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createUrlPolicy, isPrivateAddress } from './url-policy.ts';

const names: Record<string, readonly string[]> = { 'hooks.example.com': ['93.184.215.14'], 'rebound.example.com': ['93.184.215.14', '10.0.0.7'] };
const resolve = async (host: string) => {
  const found = names[host];
  if (!found) throw new Error('ENOTFOUND');
  return found;
};

test('knows loopback, private, link-local and mapped addresses from public ones', () => {
  for (const ip of ['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:a9fe:a9fe']) {
    assert.equal(isPrivateAddress(ip), true, ip);
  }
  for (const ip of ['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111']) assert.equal(isPrivateAddress(ip), false, ip);
});

test('refuses private targets, by address or by name, unless allowed', async () => {
  const { check } = createUrlPolicy({ allowPrivate: false, resolve });
  assert.equal(await check('https://hooks.example.com/omnigate'), undefined);
  assert.equal(await check('http://93.184.215.14:8080/hook'), undefined);
  for (const url of ['http://127.0.0.1:9000/hook', 'http://[::1]/hook', 'http://169.254.169.254/latest/meta-data', 'http://2130706433/', 'http://rebound.example.com/']) {
    assert.match((await check(url)) ?? 'allowed', /private/, url);
  }
  assert.match((await check('http://nowhere.example.com/')) ?? 'allowed', /does not resolve/);
  const open = createUrlPolicy({ allowPrivate: true, resolve });
  assert.equal(await open.check('http://127.0.0.1:9000/hook'), undefined);
  assert.equal(open.lookup, undefined);
});

test('refuses other schemes and credentials in the URL, whatever the setting', async () => {
  const { check } = createUrlPolicy({ allowPrivate: true, resolve });
  assert.match((await check('ftp://hooks.example.com/')) ?? '', /http or https/);
  assert.match((await check('file:///etc/passwd')) ?? '', /http or https/);
  assert.match((await check('https://user:pw@hooks.example.com/')) ?? '', /credentials/);
  assert.match((await check('not a url')) ?? '', /not a valid URL/);
});
