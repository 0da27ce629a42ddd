// The operator's session for the whole app: who is logged in, what they may do, login and logout.
// A 401 from any call (expired or revoked token) lands here and leads back to the login page.
import { App as AntApp, Spin } from 'antd';
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { useLocation, useNavigate } from 'react-router';
import { type Access, access } from './access.ts';
import { ErrorAlert } from './components/ErrorAlert.tsx';
import { onUnauthorized } from './services/api.ts';
import * as fd from './services/frontdesk.ts';
import { clearSession, getSession, saveSession, type Session } from './services/session-store.ts';

interface SessionValue {
  session: Session | null;
  access: Access;
  signIn(username: string, password: string): Promise<void>;
  signOut(): Promise<void>;
}

const Ctx = createContext<SessionValue | null>(null);
const NOTHING = access(new Set());

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(getSession);
  const [permissions, setPermissions] = useState<Set<string> | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const navigate = useNavigate();
  const location = useLocation();
  const { message } = AntApp.useApp();

  useEffect(() => {
    onUnauthorized((err) => {
      setSession(null);
      setPermissions(null);
      // several calls may fail at once: one message, and the first one leads to the login page —
      // a later one must not replace the page to come back to with the login page itself
      message.warning({ content: err.text(), key: 'session-expired' });
      if (window.location.pathname === '/login') return;
      navigate('/login', { replace: true, state: { from: `${window.location.pathname}${window.location.search}` } });
    });
  }, [navigate, message]);

  // permissions of a session restored from localStorage (after a login they are loaded right away)
  useEffect(() => {
    if (!session || permissions || loadError) return;
    let live = true;
    fd.me()
      .then((m) => live && setPermissions(new Set(m.permissions)))
      .catch((e: unknown) => live && setLoadError(e));
    return () => {
      live = false;
    };
  }, [session, permissions, loadError]);

  const signIn = useCallback(async (username: string, password: string) => {
    const r = await fd.login(username, password);
    const s = { token: r.token, expiresAt: r.expiresAt, operator: r.operator };
    saveSession(s);
    const m = await fd.me();
    setPermissions(new Set(m.permissions));
    setSession(s);
  }, []);

  const signOut = useCallback(async () => {
    await fd.logout().catch(() => undefined);
    clearSession();
    setSession(null);
    setPermissions(null);
    navigate('/login', { replace: true });
  }, [navigate]);

  const value = useMemo<SessionValue>(() => ({ session, access: permissions ? access(permissions) : NOTHING, signIn, signOut }), [session, permissions, signIn, signOut]);

  if (session && !permissions && location.pathname !== '/login') {
    if (loadError) return <ErrorAlert error={loadError} onRetry={() => setLoadError(null)} style={{ maxWidth: 560, margin: '96px auto' }} />;
    return <Spin fullscreen />;
  }
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useSession(): SessionValue {
  const v = useContext(Ctx);
  if (!v) throw new Error('useSession outside SessionProvider');
  return v;
}
