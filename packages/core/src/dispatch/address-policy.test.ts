import { describe, expect, it } from 'vitest';
import { ipFamily, isRefusedAddress } from './address-policy.js';

describe('isRefusedAddress', () => {
  const refused = [
    '0.0.0.0',
    '0.1.2.3',
    '10.0.0.1',
    '10.255.255.255',
    '100.64.0.1',
    '100.127.255.254',
    '127.0.0.1',
    '127.255.0.9',
    '169.254.169.254',
    '172.16.0.1',
    '172.31.255.255',
    '192.0.0.192',
    '192.168.1.1',
    '198.18.0.1',
    '198.19.255.255',
    '224.0.0.1',
    '239.255.255.250',
    '240.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    '[::1]',
    '::7f00:1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:8.8.8.8',
    '64:ff9b::7f00:1',
    '64:ff9b:1::1',
    '2002:7f00:1::1',
    'fc00::1',
    'fd00:ec2::254',
    'fe80::1',
    'fe80::1%eth0',
    'febf::1',
    'ff02::1',
    'not-an-address',
    '',
  ];
  for (const address of refused) {
    it(`refuses ${address || '(empty)'}`, () => {
      expect(isRefusedAddress(address)).toBe(true);
    });
  }

  const allowed = ['8.8.8.8', '1.1.1.1', '100.63.255.255', '100.128.0.0', '172.15.255.255', '172.32.0.0', '192.0.1.1', '198.17.255.255', '198.20.0.0', '223.255.255.255', '2606:4700::1111', '2001:4860:4860::8888'];
  for (const address of allowed) {
    it(`allows the public address ${address}`, () => {
      expect(isRefusedAddress(address)).toBe(false);
    });
  }
});

describe('ipFamily', () => {
  it('tells IP literals, bracketed or not, from names', () => {
    expect(ipFamily('127.0.0.1')).toBe(4);
    expect(ipFamily('[::1]')).toBe(6);
    expect(ipFamily('::1')).toBe(6);
    expect(ipFamily('example.com')).toBe(0);
  });
});
