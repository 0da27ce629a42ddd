// The operator's session (bearer token and who is logged in), kept in localStorage so a new tab
// or a reload stays logged in until the token expires or the operator logs out.
export interface Operator {
  operatorId: number;
  username: string;
  name: string;
  departmentId: string;
  departmentName?: string | null;
  roles: string[];
}

export interface Session {
  token: string;
  expiresAt: string;
  operator: Operator;
}

const KEY = 'openboss.session';

export function getSession(): Session | null {
  try {
    const s = JSON.parse(localStorage.getItem(KEY) ?? 'null') as Session | null;
    if (!s || typeof s.token !== 'string' || new Date(s.expiresAt).getTime() <= Date.now()) return null;
    return s;
  } catch {
    return null;
  }
}

export function saveSession(s: Session): void {
  localStorage.setItem(KEY, JSON.stringify(s));
}

export function clearSession(): void {
  localStorage.removeItem(KEY);
}
