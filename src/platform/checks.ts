// R-ORD-1: a failing rule as the operator sees it — a stable code, what is wrong, and what to do.
export interface Text {
  zh: string;
  en: string;
}

export interface CheckFailure {
  code: string;
  message: Text;
  fix: Text;
  details?: Record<string, unknown> | undefined;
}

export function failure(code: string, message: Text, fix: Text, details?: Record<string, unknown>): CheckFailure {
  return details ? { code, message, fix, details } : { code, message, fix };
}
