// Customer rules, pure: R-CUS-1 (ID checksums), R-CUS-2 (masking), service password strength.

const GB11643_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const GB11643_CHECK = '10X98765432';

export type IdCheck = { ok: true } | { ok: false; reason: 'format' | 'birth_date' | 'checksum' };

/** R-CUS-1: an 18-character resident ID (GB 11643): 17 digits, a valid birth date, the ISO 7064 MOD 11-2 check character. */
export function checkResidentId(id: string): IdCheck {
  if (!/^\d{17}[\dX]$/.test(id)) return { ok: false, reason: 'format' };
  const y = Number(id.slice(6, 10));
  const m = Number(id.slice(10, 12));
  const d = Number(id.slice(12, 14));
  const date = new Date(Date.UTC(y, m - 1, d));
  if (y < 1900 || date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) {
    return { ok: false, reason: 'birth_date' };
  }
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(id[i]) * (GB11643_WEIGHTS[i] as number);
  return GB11643_CHECK[sum % 11] === id[17] ? { ok: true } : { ok: false, reason: 'checksum' };
}

/** The check character a 17-digit body needs (used to make valid demo and test IDs). */
export function residentIdCheckChar(body17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(body17[i]) * (GB11643_WEIGHTS[i] as number);
  return GB11643_CHECK[sum % 11] as string;
}

const USCC_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/** Unified social credit code of an organisation's business licence (GB 32100-2015), mod-31 check character. */
export function checkBusinessLicence(code: string): IdCheck {
  if (!/^[0-9A-HJ-NPQRTUWXY]{18}$/.test(code)) return { ok: false, reason: 'format' };
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += USCC_CHARS.indexOf(code[i] as string) * (USCC_WEIGHTS[i] as number);
  const check = USCC_CHARS[(31 - (sum % 31)) % 31];
  return check === code[17] ? { ok: true } : { ok: false, reason: 'checksum' };
}

export function businessLicenceCheckChar(body17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += USCC_CHARS.indexOf(body17[i] as string) * (USCC_WEIGHTS[i] as number);
  return USCC_CHARS[(31 - (sum % 31)) % 31] as string;
}

export const ID_TYPES = ['resident_id', 'passport', 'hk_macau_permit', 'taiwan_permit', 'military_id', 'business_licence'] as const;
export type IdType = (typeof ID_TYPES)[number];

/** R-CUS-1 for every ID type: checksummed types are checked, others get a format check. */
export function checkIdNumber(type: IdType, id: string): IdCheck {
  switch (type) {
    case 'resident_id':
      return checkResidentId(id);
    case 'business_licence':
      return checkBusinessLicence(id);
    case 'passport':
      return /^[A-Z0-9]{5,17}$/.test(id) ? { ok: true } : { ok: false, reason: 'format' };
    case 'hk_macau_permit':
      return /^[HM]\d{8,10}$/.test(id) ? { ok: true } : { ok: false, reason: 'format' };
    case 'taiwan_permit':
      return /^\d{8}$/.test(id) ? { ok: true } : { ok: false, reason: 'format' };
    case 'military_id':
      return /^[\u4e00-\u9fa5A-Z0-9]{4,20}$/.test(id) ? { ok: true } : { ok: false, reason: 'format' };
  }
}

/** R-CUS-2: `110101********1234` — first 6 and last 4 stay, the middle is masked. */
export function maskIdNumber(id: string | null | undefined): string | null {
  if (!id) return id ?? null;
  if (id.length <= 2) return `${id.slice(0, 1)}${'*'.repeat(id.length - 1)}`;
  if (id.length <= 8) return `${id.slice(0, 1)}${'*'.repeat(Math.max(0, id.length - 2))}${id.slice(-1)}`;
  // passports and permits (9–13 characters): too short to keep 6 + 4, so 2 + 2
  if (id.length < 14) return `${id.slice(0, 2)}${'*'.repeat(id.length - 4)}${id.slice(-2)}`;
  return `${id.slice(0, 6)}${'*'.repeat(id.length - 10)}${id.slice(-4)}`;
}

/** R-CUS-2: `138****1234` for mobiles; other numbers keep their first 3 and last 4 characters. */
export function maskPhone(phone: string | null | undefined): string | null {
  if (!phone) return phone ?? null;
  if (phone.length <= 7) return `${phone.slice(0, 1)}${'*'.repeat(Math.max(0, phone.length - 2))}${phone.slice(-1)}`;
  return `${phone.slice(0, 3)}${'*'.repeat(phone.length - 7)}${phone.slice(-4)}`;
}

/** A bank account number keeps only its last 4 digits. */
export function maskBankAccount(n: string | null | undefined): string | null {
  if (!n) return n ?? null;
  return `${'*'.repeat(Math.max(0, n.length - 4))}${n.slice(-4)}`;
}

export type PasswordCheck = { ok: true } | { ok: false; reason: 'format' | 'same_digits' | 'sequence' | 'id_suffix' };

/** The 6-digit service password (服务密码): no repeated digit, no run like 123456/654321, not the ID's last six. */
export function checkServicePassword(pw: string, idNumber?: string): PasswordCheck {
  if (!/^\d{6}$/.test(pw)) return { ok: false, reason: 'format' };
  if (/^(\d)\1{5}$/.test(pw)) return { ok: false, reason: 'same_digits' };
  const digits = [...pw].map(Number);
  const steps = new Set(digits.slice(1).map((d, i) => d - (digits[i] as number)));
  if (steps.size === 1 && (steps.has(1) || steps.has(-1))) return { ok: false, reason: 'sequence' };
  if (idNumber && idNumber.length >= 6 && idNumber.slice(-6) === pw) return { ok: false, reason: 'id_suffix' };
  return { ok: true };
}
