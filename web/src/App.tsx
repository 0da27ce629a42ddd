// The app shell: antd in the operator's language (zh-CN first), the session, and the routes.
import { App as AntApp, ConfigProvider } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import dayjs from 'dayjs';
import 'dayjs/locale/zh-cn';
import { useEffect } from 'react';
import { BrowserRouter, Navigate, Outlet, Route, Routes, useLocation } from 'react-router';
import { AppLayout } from './components/AppLayout.tsx';
import { LocaleProvider, useI18n } from './locales/index.tsx';
import Customer360 from './pages/Customer/index.tsx';
import Login from './pages/Login/index.tsx';
import NotFound from './pages/NotFound.tsx';
import OrderWizard from './pages/Order/index.tsx';
import Payment from './pages/Payment/index.tsx';
import AgentOpen from './pages/Agent/index.tsx';
import BillRuns from './pages/Billing/index.tsx';
import BundleGrants from './pages/Bundles/Grants.tsx';
import CreditQueue from './pages/Credit/index.tsx';
import AgentCards from './pages/Stock/AgentCards.tsx';
import CardHistory from './pages/Stock/CardHistory.tsx';
import StockOverview from './pages/Stock/Overview.tsx';
import Transfers from './pages/Stock/Transfers.tsx';
import Workbench from './pages/Workbench/index.tsx';
import Outbox from './pages/Outbox/index.tsx';
import WorkOrders from './pages/WorkOrders/index.tsx';
import { SessionProvider, useSession } from './session.tsx';

function RequireSession() {
  const { session } = useSession();
  const location = useLocation();
  if (!session) return <Navigate to="/login" replace state={{ from: `${location.pathname}${location.search}` }} />;
  return <Outlet />;
}

/** A page the operator's roles do not reach (the menu does not offer it either). */
function Allowed({ when, children }: { when: boolean; children: React.ReactNode }) {
  return when ? children : <NotFound />;
}

function Shell() {
  const { lang, t } = useI18n();
  const { access } = useSession();
  useEffect(() => {
    dayjs.locale(lang === 'en-US' ? 'en' : 'zh-cn');
    document.documentElement.lang = lang;
    document.title = `OpenBOSS ${t('app.subtitle')}`;
  }, [lang, t]);
  return (
    <Routes>
      <Route path="/login" element={<Login />} />
      <Route element={<RequireSession />}>
        <Route element={<AppLayout />}>
          <Route index element={access.customers ? <Workbench /> : access.payment ? <Navigate to="/payment" replace /> : access.stock ? <Navigate to="/stock" replace /> : access.billRuns ? <Navigate to="/billing" replace /> : access.credit ? <Navigate to="/credit" replace /> : <NotFound />} />
          <Route path="customers/:id" element={<Allowed when={access.customers}>{<Customer360 />}</Allowed>} />
          <Route path="payment" element={<Allowed when={access.payment}>{<Payment />}</Allowed>} />
          <Route path="orders/new" element={<Allowed when={access.orders}>{<OrderWizard />}</Allowed>} />
          <Route path="orders/:id" element={<Allowed when={access.orderRead && access.customers}>{<OrderWizard />}</Allowed>} />
          <Route path="work-orders" element={<Allowed when={access.orderRead}>{<WorkOrders />}</Allowed>} />
          <Route path="stock" element={<Allowed when={access.stock}>{<StockOverview />}</Allowed>} />
          <Route path="stock/transfers" element={<Allowed when={access.stock}>{<Transfers />}</Allowed>} />
          <Route path="stock/agent-cards" element={<Allowed when={access.stockPick}>{<AgentCards />}</Allowed>} />
          <Route path="stock/cards" element={<Allowed when={access.stock}>{<CardHistory />}</Allowed>} />
          <Route path="agent/open" element={<Allowed when={access.cardWrite}>{<AgentOpen />}</Allowed>} />
          <Route path="outbox" element={<Allowed when={access.outbox}>{<Outbox />}</Allowed>} />
          <Route path="billing" element={<Allowed when={access.billRuns}>{<BillRuns />}</Allowed>} />
          <Route path="credit" element={<Allowed when={access.credit}>{<CreditQueue />}</Allowed>} />
          <Route path="bundles/grants" element={<Allowed when={access.bundles}>{<BundleGrants />}</Allowed>} />
          <Route path="*" element={<NotFound />} />
        </Route>
      </Route>
    </Routes>
  );
}

function Themed() {
  const { lang } = useI18n();
  return (
    <ConfigProvider locale={lang === 'en-US' ? enUS : zhCN} theme={{ token: { colorPrimary: '#1677ff', borderRadius: 6 } }}>
      <AntApp>
        <BrowserRouter>
          <SessionProvider>
            <Shell />
          </SessionProvider>
        </BrowserRouter>
      </AntApp>
    </ConfigProvider>
  );
}

export default function App() {
  return (
    <LocaleProvider>
      <Themed />
    </LocaleProvider>
  );
}
