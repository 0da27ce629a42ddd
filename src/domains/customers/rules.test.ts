import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  businessLicenceCheckChar,
  checkBusinessLicence,
  checkIdNumber,
  checkResidentId,
  checkServicePassword,
  maskBankAccount,
  maskIdNumber,
  maskPhone,
  residentIdCheckChar,
} from './rules.ts';

describe('R-CUS-1 resident ID numbers (GB 11643)', () => {
  test('R-CUS-1 the published sample 11010519491231002X passes', () => {
    expect(checkResidentId('11010519491231002X')).toEqual({ ok: true });
  });
  test('R-CUS-1 a wrong check character is refused', () => {
    expect(checkResidentId('110105194912310021')).toEqual({ ok: false, reason: 'checksum' });
  });
  test('R-CUS-1 a lower-case x is a format error (callers upper-case first)', () => {
    expect(checkResidentId('11010519491231002x')).toEqual({ ok: false, reason: 'format' });
  });
  test('R-CUS-1 wrong length or letters are format errors', () => {
    for (const id of ['', '1101051949123100', '1101051949123100201', '11010519491231A02X']) expect(checkResidentId(id).ok).toBe(false);
  });
  test('R-CUS-1 an impossible birth date is refused even with a right check character', () => {
    const body = '11010519490230002';
    expect(checkResidentId(body + residentIdCheckChar(body))).toEqual({ ok: false, reason: 'birth_date' });
    const old = '11010518991231002';
    expect(checkResidentId(old + residentIdCheckChar(old))).toEqual({ ok: false, reason: 'birth_date' });
  });
  test('R-CUS-1 property: every body with its computed check character passes; any other character fails', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1950, max: 2020 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 }), fc.integer({ min: 0, max: 999 }), (y, m, d, seq) => {
        const body = `120103${y}${String(m).padStart(2, '0')}${String(d).padStart(2, '0')}${String(seq).padStart(3, '0')}`;
        const check = residentIdCheckChar(body);
        expect(checkResidentId(body + check).ok).toBe(true);
        for (const other of '0123456789X') if (other !== check) expect(checkResidentId(body + other).ok).toBe(false);
      }),
    );
  });
});

describe('R-CUS-1 other documents', () => {
  test('R-CUS-1 unified social credit codes are checked mod 31', () => {
    const body = '91120103MA05K1234';
    const code = body + businessLicenceCheckChar(body);
    expect(checkBusinessLicence(code)).toEqual({ ok: true });
    const wrong = body + (code.endsWith('0') ? '1' : '0');
    expect(checkBusinessLicence(wrong)).toEqual({ ok: false, reason: 'checksum' });
    expect(checkBusinessLicence('91120103MA05K1234I')).toEqual({ ok: false, reason: 'format' });
  });
  test('R-CUS-1 passports and permits get a format check', () => {
    expect(checkIdNumber('passport', 'E12345678').ok).toBe(true);
    expect(checkIdNumber('passport', 'e1').ok).toBe(false);
    expect(checkIdNumber('hk_macau_permit', 'H12345678').ok).toBe(true);
    expect(checkIdNumber('hk_macau_permit', 'X12345678').ok).toBe(false);
  });
});

describe('R-CUS-2 masking', () => {
  test('R-CUS-2 ID numbers keep the first 6 and last 4: 110101********1234', () => {
    expect(maskIdNumber('110101199001011234')).toBe('110101********1234');
    expect(maskIdNumber('11010519491231002X')).toBe('110105********002X');
    // passports (9 characters) and permits: never whole, never an error
    for (let n = 1; n <= 20; n++) {
      const id = 'E12345678901234567890'.slice(0, n);
      const m = maskIdNumber(id) as string;
      expect(m).toHaveLength(n);
      if (n > 2) expect(m).not.toBe(id);
    }
    expect(maskIdNumber('E12345678')).toBe('E1*****78');
  });
  test('R-CUS-2 phone numbers keep the first 3 and last 4: 138****1234', () => {
    expect(maskPhone('13812341234')).toBe('138****1234');
    expect(maskPhone('02223456789')).toBe('022****6789');
    expect(maskPhone(null)).toBeNull();
  });
  test('R-CUS-2 short values never show more than their ends', () => {
    expect(maskIdNumber('E1234567')).toBe('E******7');
    expect(maskPhone('10010')).toBe('1***0');
  });
  test('R-CUS-2 bank account numbers keep the last 4 only', () => {
    expect(maskBankAccount('0302001109300012345')).toBe('***************2345');
  });
});

describe('service password (服务密码)', () => {
  test('six digits, not all the same, not a run, not the ID number’s last six', () => {
    expect(checkServicePassword('902417')).toEqual({ ok: true });
    expect(checkServicePassword('12345')).toEqual({ ok: false, reason: 'format' });
    expect(checkServicePassword('888888')).toEqual({ ok: false, reason: 'same_digits' });
    expect(checkServicePassword('123456')).toEqual({ ok: false, reason: 'sequence' });
    expect(checkServicePassword('654321')).toEqual({ ok: false, reason: 'sequence' });
    expect(checkServicePassword('31002X'.replace('X', '9'), '110105194912310029')).toEqual({ ok: false, reason: 'id_suffix' });
  });
});
