// The one way the web app reaches the server: an openapi-fetch client typed from the generated
// schema.d.ts (`npm run gen:api`), with the operator's bearer token. Errors come back as
// problem+json (RFC 9457, messages in zh and en) and are thrown as ApiError, whose text the UI shows
// in the current language; a 401 clears the session and sends the operator to the login page.
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema.d.ts';
import { currentLang } from '../locales/lang.ts';
import { clearSession, getSession } from './session-store.ts';

export type Problem = components['schemas']['Problem'];
export type Messages = { zh: string; en: string };

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly messages: Messages;
  readonly details: unknown;
  constructor(status: number, code: string, messages: Messages, details?: unknown) {
    super(messages.en);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.messages = messages;
    this.details = details;
  }

  /** The message in the operator's language. */
  text(lang = currentLang()): string {
    return lang === 'en-US' ? this.messages.en : this.messages.zh;
  }
}

function isProblem(x: unknown): x is Problem {
  const p = x as Partial<Problem> | null;
  return typeof p === 'object' && p !== null && typeof p.code === 'string' && typeof p.messages?.zh === 'string' && typeof p.messages?.en === 'string';
}

/** Any failed response as an ApiError: the problem's own messages, or a readable stand-in. */
export function toApiError(status: number, body: unknown): ApiError {
  if (isProblem(body)) return new ApiError(status, body.code, body.messages, body.details);
  if (status === 0) return new ApiError(0, 'NETWORK', { zh: '无法连接服务器，请检查网络后重试', en: 'Cannot reach the server; check the network and try again' });
  return new ApiError(status, `HTTP_${status}`, { zh: `服务暂时不可用（HTTP ${status}），请稍后重试`, en: `The server could not answer (HTTP ${status}); try again later` });
}

/** The text to show for anything thrown while talking to the server. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.text();
  return toApiError(0, undefined).text();
}

let unauthorized: (err: ApiError) => void = () => undefined;
/** The app sets this once: where a 401 leads (the login page). */
export function onUnauthorized(fn: (err: ApiError) => void): void {
  unauthorized = fn;
}

const LOGIN = '/api/v1/auth/login';

const auth: Middleware = {
  onRequest({ request }) {
    const s = getSession();
    if (s) request.headers.set('authorization', `Bearer ${s.token}`);
    request.headers.set('accept-language', currentLang());
    return request;
  },
  async onResponse({ request, response }) {
    // a wrong password is a 401 too, but that one is the login form's to show
    if (response.status === 401 && !new URL(request.url).pathname.startsWith(LOGIN)) {
      const body: unknown = await response
        .clone()
        .json()
        .catch(() => undefined);
      clearSession();
      unauthorized(toApiError(401, body));
    }
    return response;
  },
};

export const client = createClient<paths>({ baseUrl: window.location.origin });
client.use(auth);

/** Awaits an openapi-fetch call: its data, or an ApiError (problem+json or network failure). */
export async function call<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let r: { data?: T; error?: unknown; response: Response };
  try {
    r = await request;
  } catch {
    throw toApiError(0, undefined);
  }
  if (!r.response.ok || r.error !== undefined) throw toApiError(r.response.status, r.error);
  return r.data as T;
}
