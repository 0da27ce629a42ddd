// The card reader (写卡器) of the agent's counter. The web app drives the CardReader interface of
// src/domains/resources/card-reader.ts (pure TS); the demo and the tests use its SimulatedCardReader,
// with this panel standing in for the hands at the counter: insert one of the channel's picked
// blank cards (or a finished/written card), take it out, and make the next reader operation fail in
// one of the four ways of R-RES-5 with their exact messages.
import { ExperimentOutlined, ImportOutlined, LogoutOutlined, ThunderboltOutlined } from '@ant-design/icons';
import { AutoComplete, Button, Card, Checkbox, Input, Select, Space, Tag, Typography } from 'antd';
import { useState } from 'react';
import { CardReaderError, type CardReaderErrorCode, SimulatedCardReader } from '../../../../src/domains/resources/card-reader.ts';
import { useI18n } from '../../locales/index.tsx';
import type { Card as StockCard } from '../../services/stock.ts';

export type { CardReaderErrorCode };

/** The four failures of R-RES-5 the simulator can inject. */
export const READER_FAILURES: CardReaderErrorCode[] = ['READER_NOT_CONNECTED', 'DRIVER_NOT_INSTALLED', 'CARD_NOT_BLANK', 'SCRIPT_MISSING'];

/** The simulator with what the panel shows: the card in it and the failure waiting for the next operation. */
export class DemoCardReader extends SimulatedCardReader {
  private shown: { iccid: string; blank: boolean } | null = null;
  private armed: CardReaderErrorCode | null = null;
  /** the reader was opened (connect) and the card not taken out since */
  ready = false;

  override insert(iccid: string, opts: { blank?: boolean } = {}): void {
    super.insert(iccid, opts);
    this.shown = { iccid, blank: opts.blank ?? !this.written.includes(iccid) };
  }

  override remove(): void {
    super.remove();
    this.shown = null;
    this.ready = false;
  }

  override failNext(code: CardReaderErrorCode): void {
    super.failNext(code);
    this.armed = code;
  }

  override async connect(): Promise<void> {
    this.armed = null;
    await super.connect();
    this.ready = true;
  }

  override async readCard() {
    this.armed = null;
    return super.readCard();
  }

  override async writeCard(script: string): Promise<void> {
    this.armed = null;
    await super.writeCard(script);
    if (this.shown) this.shown = { ...this.shown, blank: false };
  }

  insertedCard(): { iccid: string; blank: boolean } | null {
    return this.shown;
  }

  pendingFailure(): CardReaderErrorCode | null {
    return this.armed;
  }
}

/** The message of a reader failure: the reader's own (zh word for word, R-RES-5), or its English. */
export function readerMessage(e: unknown, lang: string): { code: string; text: string } | null {
  if (!(e instanceof CardReaderError)) return null;
  return { code: e.code, text: lang === 'en-US' ? e.en : e.zh };
}

/** The simulator's controls (演示写卡器). */
export function SimulatorPanel({ reader, cards, onChange }: { reader: DemoCardReader; cards: StockCard[]; onChange(): void }) {
  const { t } = useI18n();
  const [iccid, setIccid] = useState<string>('');
  const [blank, setBlank] = useState(true);
  const [fail, setFail] = useState<CardReaderErrorCode | undefined>(undefined);
  const [armed, setArmed] = useState<CardReaderErrorCode | null>(null);
  const inserted = reader.insertedCard();
  return (
    <Card size="small" type="inner" title={<Space><ExperimentOutlined />{t('agent.sim.title')}</Space>} data-testid="reader-simulator" style={{ background: '#fffbe6' }}>
      <Typography.Paragraph type="secondary" style={{ fontSize: 12 }}>
        {t('agent.sim.hint')}
      </Typography.Paragraph>
      <Space wrap align="center">
        <AutoComplete
          id="sim-iccid"
          value={iccid}
          onChange={(v: string) => setIccid(v)}
          style={{ width: 260 }}
          options={cards.map((c) => ({ value: c.iccid, label: <span className="mono">{c.iccid}</span> }))}
          filterOption={(input, o) => String(o?.value ?? '').includes(input)}
        >
          <Input className="mono" placeholder={t('agent.sim.iccid')} maxLength={20} aria-label={t('agent.sim.iccid')} />
        </AutoComplete>
        <Checkbox checked={!blank} onChange={(e) => setBlank(!e.target.checked)} data-testid="sim-not-blank">
          {t('agent.sim.notBlank')}
        </Checkbox>
        <Button
          icon={<ImportOutlined />}
          disabled={!/^[0-9]{19,20}$/.test(iccid.trim())}
          data-testid="sim-insert"
          onClick={() => {
            reader.insert(iccid.trim(), { blank });
            onChange();
          }}
        >
          {t('agent.sim.insert')}
        </Button>
        <Button
          icon={<LogoutOutlined />}
          disabled={!inserted}
          onClick={() => {
            reader.remove();
            onChange();
          }}
        >
          {t('agent.sim.remove')}
        </Button>
      </Space>
      <Space wrap align="center" style={{ marginTop: 8 }}>
        <Select
          id="sim-fail"
          allowClear
          showSearch={{ optionFilterProp: 'label' }}
          value={fail}
          onChange={setFail}
          style={{ width: 360 }}
          placeholder={t('agent.sim.failPick')}
          options={READER_FAILURES.map((c) => ({ value: c, label: t(`agent.fail.${c}`) }))}
        />
        <Button
          icon={<ThunderboltOutlined />}
          disabled={!fail}
          data-testid="sim-fail-next"
          onClick={() => {
            if (!fail) return;
            reader.failNext(fail);
            setArmed(fail);
            onChange();
          }}
        >
          {t('agent.sim.failNext')}
        </Button>
      </Space>
      <div style={{ marginTop: 8 }} data-testid="sim-status">
        <Space wrap>
          <Typography.Text type="secondary">{t('agent.sim.inserted')}</Typography.Text>
          {inserted ? (
            <Tag color={inserted.blank ? 'green' : 'red'} className="mono">
              {inserted.iccid} · {inserted.blank ? t('agent.sim.blank') : t('agent.sim.written')}
            </Tag>
          ) : (
            <Tag>{t('agent.sim.none')}</Tag>
          )}
          {armed && reader.pendingFailure() === armed ? <Tag color="orange">{t('agent.sim.armed', { what: t(`agent.fail.${armed}`) })}</Tag> : null}
        </Space>
      </div>
    </Card>
  );
}
