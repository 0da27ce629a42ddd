// The front desk's frame: top bar (operator, department, business date, language, logout) and the
// left menu with only the pages that exist and that the operator may use.
import { AccountBookOutlined, GiftOutlined, AlertOutlined, ApartmentOutlined, CalendarOutlined, CreditCardOutlined, DatabaseOutlined, DesktopOutlined, FormOutlined, HistoryOutlined, LogoutOutlined, PayCircleOutlined, SwapOutlined, ToolOutlined, UserOutlined, UsbOutlined, SendOutlined } from '@ant-design/icons';
import { Button, Layout, Menu, type MenuProps, Space, Tag, Tooltip, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { Outlet, useLocation, useNavigate } from 'react-router';
import { useI18n } from '../locales/index.tsx';
import { businessClock } from '../services/frontdesk.ts';
import type { ClockView } from '../services/types.ts';
import { useSession } from '../session.tsx';
import { businessDate } from '../utils/time.ts';
import { LangSwitch } from './LangSwitch.tsx';

const { Header, Sider, Content } = Layout;

function useBusinessClock(): ClockView | null {
  const [clock, setClock] = useState<ClockView | null>(null);
  useEffect(() => {
    let live = true;
    const load = () =>
      businessClock()
        .then((c) => live && setClock(c))
        .catch(() => undefined);
    void load();
    const timer = window.setInterval(load, 60_000);
    return () => {
      live = false;
      window.clearInterval(timer);
    };
  }, []);
  return clock;
}

export function AppLayout() {
  const { t } = useI18n();
  const { session, access, signOut } = useSession();
  const navigate = useNavigate();
  const { pathname } = useLocation();
  const clock = useBusinessClock();
  const op = session?.operator;

  const items: MenuProps['items'] = [
    ...(access.customers ? [{ key: '/', icon: <DesktopOutlined />, label: t('menu.workbench') }] : []),
    ...(access.orders ? [{ key: '/orders/new', icon: <FormOutlined />, label: t('menu.order') }] : []),
    ...(access.payment ? [{ key: '/payment', icon: <PayCircleOutlined />, label: t('menu.payment') }] : []),
    ...(access.orderRead ? [{ key: '/work-orders', icon: <ToolOutlined />, label: t('menu.workOrders') }] : []),
    ...(access.cardWrite ? [{ key: '/agent/open', icon: <UsbOutlined />, label: t('menu.agentOpen') }] : []),
    ...(access.stock ? [{ key: '/stock', icon: <DatabaseOutlined />, label: t('menu.stock') }] : []),
    ...(access.stock ? [{ key: '/stock/transfers', icon: <SwapOutlined />, label: t('menu.transfers') }] : []),
    ...(access.stockPick ? [{ key: '/stock/agent-cards', icon: <CreditCardOutlined />, label: t('menu.agentCards') }] : []),
    ...(access.stock ? [{ key: '/stock/cards', icon: <HistoryOutlined />, label: t('menu.cardHistory') }] : []),
    ...(access.billRuns ? [{ key: '/billing', icon: <AccountBookOutlined />, label: t('menu.billing') }] : []),
    ...(access.credit ? [{ key: '/credit', icon: <AlertOutlined />, label: t('menu.credit') }] : []),
    ...(access.bundles ? [{ key: '/bundles/grants', icon: <GiftOutlined />, label: t('menu.bundleGrants') }] : []),
    ...(access.outbox ? [{ key: '/outbox', icon: <SendOutlined />, label: t('menu.outbox') }] : []),
  ];
  // the customer 360 is opened from the workbench
  const section = ['/stock/transfers', '/stock/agent-cards', '/stock/cards', '/stock', '/agent/open', '/payment', '/work-orders', '/billing', '/credit', '/bundles/grants', '/outbox'].find((k) => pathname.startsWith(k));
  const selected = section ?? (pathname.startsWith('/orders') ? '/orders/new' : '/');

  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Header style={{ display: 'flex', alignItems: 'center', gap: 24, paddingInline: 24, color: '#fff' }}>
        <Typography.Title level={4} style={{ color: '#fff', margin: 0, whiteSpace: 'nowrap' }}>
          OpenBOSS <span style={{ fontWeight: 400, opacity: 0.85 }}>{t('app.subtitle')}</span>
        </Typography.Title>
        <div style={{ flex: 1 }} />
        <Space size="large" style={{ color: 'rgba(255,255,255,0.92)' }} data-testid="topbar">
          <span>
            <UserOutlined /> {op?.name} <span style={{ opacity: 0.7 }}>({op?.username})</span>
          </span>
          <span>
            <ApartmentOutlined /> {op?.departmentName ?? op?.departmentId}
          </span>
          <span data-testid="business-date">
            <CalendarOutlined /> {t('topbar.businessDate')} {clock ? businessDate(clock.now) : '…'}
            {clock?.kind === 'simulated' ? (
              <Tooltip title={t('topbar.simulatedHint')}>
                <Tag color="gold" style={{ marginInlineStart: 8 }}>
                  {t('topbar.simulated')}
                </Tag>
              </Tooltip>
            ) : null}
          </span>
          <LangSwitch dark />
          <Button ghost size="small" icon={<LogoutOutlined />} onClick={() => void signOut()}>
            {t('action.logout')}
          </Button>
        </Space>
      </Header>
      <Layout>
        <Sider width={200} theme="light" breakpoint="lg" collapsedWidth={64}>
          <Menu mode="inline" selectedKeys={[selected]} items={items} onClick={(e) => navigate(e.key)} style={{ height: '100%', borderInlineEnd: 0, paddingTop: 8 }} />
        </Sider>
        <Content style={{ padding: 24, minWidth: 0 }}>
          <Outlet />
        </Content>
      </Layout>
    </Layout>
  );
}
