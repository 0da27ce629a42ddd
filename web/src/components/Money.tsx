import { Typography } from 'antd';
import { formatFen } from '../utils/money.ts';

/** An amount in fen shown as yuan; `owed` amounts above zero and negative balances are red. */
export function Money({ fen, owed = false, strong = false }: { fen: number; owed?: boolean; strong?: boolean }) {
  const bad = owed ? fen > 0 : fen < 0;
  return (
    <Typography.Text type={bad ? 'danger' : undefined} strong={strong} style={{ fontVariantNumeric: 'tabular-nums', whiteSpace: 'nowrap' }}>
      {formatFen(fen)}
    </Typography.Text>
  );
}
