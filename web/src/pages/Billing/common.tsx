// What the bill-run screens share: the business cycle (from the business clock), a month picker for
// cycles, the run's state tag and a duration in words.
import { DatePicker, Tag } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useEffect, useState } from 'react';
import { useNavigate } from 'react-router';
import { useI18n } from '../../locales/index.tsx';
import type { RunState } from '../../services/billing.ts';
import { businessClock, subscriberByNumber } from '../../services/frontdesk.ts';
import { businessDate } from '../../utils/time.ts';

/** The business cycle "2026-11" now (the simulated clock in demos), null until the clock answers. */
export function useBusinessCycle(): string | null {
  const [cycle, setCycle] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    businessClock()
      .then((c) => live && setCycle(businessDate(c.now).slice(0, 7)))
      .catch(() => live && setCycle(dayjs().format('YYYY-MM')));
    return () => {
      live = false;
    };
  }, []);
  return cycle;
}

export function CyclePicker({ value, onChange, id, disabled, maxCycle, autoFocus }: { value: string | null; onChange(cycle: string): void; id?: string; disabled?: boolean; maxCycle?: string | null; autoFocus?: boolean }) {
  return (
    <DatePicker
      id={id}
      picker="month"
      format="YYYY-MM"
      allowClear={false}
      disabled={disabled}
      autoFocus={autoFocus}
      value={value ? dayjs(`${value}-01`) : null}
      disabledDate={maxCycle ? (d: Dayjs) => d.format('YYYY-MM') > maxCycle : undefined}
      onChange={(d: Dayjs | null) => d && onChange(d.format('YYYY-MM'))}
      style={{ width: 130 }}
    />
  );
}

const RUN_COLOR: Record<RunState, string> = { running: 'processing', prebilled: 'gold', publishing: 'processing', published: 'green', failed: 'red' };

export function RunStateTag({ state }: { state: RunState }) {
  const { label } = useI18n();
  return <Tag color={RUN_COLOR[state] ?? 'default'}>{label('runState', state)}</Tag>;
}

/** 95 → "1 分 35 秒" / "1 min 35 s". */
export function useDuration() {
  const { t } = useI18n();
  return (seconds: number | null | undefined) => {
    if (seconds === null || seconds === undefined) return '—';
    const s = Math.max(0, Math.round(seconds));
    const m = Math.floor(s / 60);
    return m ? t('billing.minSec', { m, s: s % 60 }) : t('billing.sec', { s });
  };
}

/** Opens the customer 360 of a service number (the bill run and the queue name lines, the 360 is the customer's). */
export function useOpen360() {
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>(null);
  const open = async (serviceNumber: string) => {
    setError(null);
    try {
      const s = await subscriberByNumber(serviceNumber);
      navigate(`/customers/${s.customerId}`);
    } catch (e) {
      setError(e);
    }
  };
  return { open, error };
}
