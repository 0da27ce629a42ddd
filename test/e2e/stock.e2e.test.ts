// Resources and channels in a browser (SPEC §10, seed 003): the 河西 branch keeper keeper01
// allocates 10 micro blank cards down from 130041 to the social-channel writing warehouse 13ZDF16
// and approves them out; the writing warehouse's keeper ess01 approves them in and picks them for
// the channel TJ-130041-C01 ("批量领卡成功，确认正式提交？"); the channel's operator agent01 opens an
// account with on-site card writing (a simulated "请更换白卡！", then the write succeeds) through
// check, quote, receipt and submit; ess01 returns the rest by ICCID range — a range holding the card
// now in use is refused, the nine picked cards for another channel are refused with "卡库位不一致"
// (nothing changes either time), then they are returned for their own channel.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { demoBlankIccid, demoResidentId } from '../../src/app/demo.ts';
import type { Actor } from '../../src/platform/audit.ts';
import { type FrontDesk, type FrontDeskPage, startFrontDesk } from './browser.ts';
import { choose, noCrash } from './ui.ts';

let fd: FrontDesk;
beforeAll(async () => {
  fd = await startFrontDesk();
});
afterAll(() => fd?.close());

const WAIT = { timeout: 60_000 };
const LONG = 300_000;
const db = () => fd.ctx.database.db;
const CHANNEL = 'TJ-130041-C01';

/** A demo operator as the services see it. */
async function actorOf(username: string): Promise<Actor> {
  const op = await db().selectFrom('operators').selectAll().where('username', '=', username).executeTakeFirstOrThrow();
  const perms = await db().selectFrom('roles').select('permissions').where('role_code', 'in', op.roles).execute();
  return { operatorId: op.operator_id, username, departmentId: op.department_id, permissions: new Set(perms.flatMap((p) => p.permissions)) };
}

/** The first ten micro blank cards of the demo's 河西 branch store (with their card data). */
const CARDS = Array.from({ length: 10 }, (_, i) => demoBlankIccid(i));
const first = CARDS[0] as string;
const last = CARDS[9] as string;

async function stockPage(): Promise<FrontDeskPage> {
  const p = await fd.newPage();
  p.page.setDefaultTimeout(60_000);
  return p;
}

async function cardsAt(iccids: string[]) {
  return db().selectFrom('sim_cards').select(['iccid', 'state', 'warehouse_code', 'department_id', 'picked_by_department_id', 'stock_order_id', 'service_number']).where('iccid', 'in', iccids).orderBy('iccid').execute();
}

/** The document row of the table with this id. */
const docRow = (page: Page, id: number) => page.locator(`tr[data-row-key="${id}"]`);

describe('stock and on-site card writing (seed 003, zh-CN)', () => {
  test('R-RES-1 R-RES-2 R-RES-4 R-RES-5 R-RES-3 allocate down, approve out and in, pick for the channel, open an account writing the card on site, return the rest by range', async () => {
    // ① keeper01 (河西分公司二级库 130041): the overview, then the allocate-down transfer by ICCID range
    const keeper = await stockPage();
    await keeper.login('keeper01', 'demo-keeper01');
    const kp = keeper.page;
    await kp.waitForURL('**/stock');
    const overview = kp.getByTestId('stock-warehouses');
    await expect.poll(() => overview.innerText(), WAIT).toContain('130041');
    expect(await overview.innerText()).toContain('128K 手机白卡（微型）');
    expect(await overview.innerText()).not.toContain('13ZDF16 ');

    await kp.getByRole('menuitem', { name: '调拨审批' }).click();
    await kp.getByTestId('new-transfer').click();
    const dialog = kp.getByRole('dialog');
    // keeper01 keeps one warehouse: it is the source already
    await expect.poll(() => dialog.locator('.ant-select', { has: kp.locator('#transfer_sourceWarehouseCode') }).innerText(), WAIT).toContain('130041');
    await kp.locator('#transfer_targetWarehouseCode').fill('13zdf16');
    await dialog.getByText('ICCID 号段').click();
    await kp.locator('#transfer_from').fill(first);
    await kp.locator('#transfer_to').fill(last);
    await kp.getByTestId('transfer-submit').click();
    await expect.poll(async () => (await db().selectFrom('stock_orders').select('stock_order_id').where('kind', '=', 'allocate').execute()).length, WAIT).toBe(1);
    const transfer = await db().selectFrom('stock_orders').selectAll().where('kind', '=', 'allocate').orderBy('stock_order_id', 'desc').executeTakeFirstOrThrow();
    expect(transfer).toMatchObject({ state: 'pending', source_warehouse_code: '130041', target_warehouse_code: '13ZDF16', card_type: 'blank_128k_micro', quantity: 10 });
    const id = Number(transfer.stock_order_id);
    const row = docRow(kp, id);
    await expect.poll(() => row.innerText(), WAIT).toMatch(/下拨[\s\S]*130041[\s\S]*13ZDF16[\s\S]*待调出审核/);
    // the cards are locked by the document and have not moved
    expect((await cardsAt(CARDS)).every((c) => c.warehouse_code === '130041' && Number(c.stock_order_id) === id)).toBe(true);
    await kp.getByTestId(`doc-${id}-approve-out`).click();
    await expect.poll(() => row.innerText(), WAIT).toContain('已调出，待调入审核');
    expect((await cardsAt(CARDS)).every((c) => c.warehouse_code === '130041')).toBe(true);
    noCrash(keeper);

    // ② ess01 (写卡库 13ZDF16): approves in; the cards are at 13ZDF16 now
    const ess = await stockPage();
    await ess.login('ess01', 'demo-ess01');
    const ep = ess.page;
    await ep.waitForURL('**/stock');
    await ep.getByRole('menuitem', { name: '调拨审批' }).click();
    await ep.getByRole('tab', { name: /调入/ }).click();
    const inRow = docRow(ep, id);
    await expect.poll(() => inRow.innerText(), WAIT).toContain('已调出，待调入审核');
    await ep.getByTestId(`doc-${id}-approve-in`).click();
    await expect.poll(() => inRow.innerText(), WAIT).toContain('已完成');
    expect((await cardsAt(CARDS)).map((c) => [c.state, c.warehouse_code, c.department_id, c.stock_order_id])).toEqual(CARDS.map(() => ['in_stock', '13ZDF16', 'TJ-13ZDF16', null]));
    await ep.getByRole('menuitem', { name: '库存总览' }).click();
    await expect.poll(() => ep.getByTestId('stock-warehouses').innerText(), WAIT).toMatch(/13ZDF16[\s\S]*10/);

    // ③ ess01 picks the 10 cards for the channel: the confirmation question, then submitted
    await ep.getByRole('menuitem', { name: '代理商领卡/退卡' }).click();
    await ep.getByTestId('pick-form').waitFor();
    await expect.poll(() => ep.locator('#pick_warehouseCode').locator('xpath=ancestor::div[contains(@class,"ant-select")][1]').innerText(), WAIT).toContain('13ZDF16');
    await choose(ep, 'pick_channelDepartmentId', '宏达');
    await ep.locator('#pick_quantity').fill('10');
    await ep.getByTestId('pick-submit').click();
    const confirm = ep.getByRole('dialog');
    await expect.poll(() => confirm.locator('.ant-modal-confirm-title').innerText(), WAIT).toBe('批量领卡成功，确认正式提交？');
    expect(await confirm.getByTestId('confirm-document').innerText()).toMatch(/10 张卡，社会渠道 河西宏达通讯/);
    // prepared, not yet moved: the cards are locked by the pending pick
    const pick = await db().selectFrom('stock_orders').selectAll().where('kind', '=', 'pick').orderBy('stock_order_id', 'desc').executeTakeFirstOrThrow();
    expect(pick).toMatchObject({ state: 'pending', source_warehouse_code: '13ZDF16', channel_department_id: CHANNEL, quantity: 10 });
    expect((await cardsAt(CARDS)).every((c) => c.state === 'in_stock' && c.stock_order_id === pick.stock_order_id)).toBe(true);
    await confirm.getByRole('button', { name: /确认提交/ }).click();
    await expect.poll(() => docRow(ep, Number(pick.stock_order_id)).innerText(), WAIT).toMatch(/领卡[\s\S]*13ZDF16[\s\S]*河西宏达通讯[\s\S]*已完成/);
    expect((await cardsAt(CARDS)).map((c) => [c.state, c.picked_by_department_id, c.warehouse_code])).toEqual(CARDS.map(() => ['picked', CHANNEL, '13ZDF16']));

    // ④ agent01 (河西宏达通讯) opens an account writing one of the picked cards on site
    const number = (
      await db()
        .selectFrom('numbers')
        .select('service_number')
        .where('state', '=', 'free')
        .where('level_code', '=', 'ordinary')
        .where('service_number', 'not in', db().selectFrom('sim_cards').select('service_number').where('service_number', 'is not', null) as never)
        .orderBy('service_number')
        .executeTakeFirstOrThrow()
    ).service_number;
    const agent = await stockPage();
    await agent.login('agent01', 'demo-agent01');
    const ap = agent.page;
    // the agent's stock: no warehouse of its own, the cards its channel picked
    await ap.getByRole('menuitem', { name: '库存总览' }).click();
    await expect.poll(() => ap.getByTestId('channel-cards').innerText(), WAIT).toContain(first);
    expect(await ap.getByTestId('channel-cards').innerText()).toContain('代理商已领');
    await ap.getByRole('menuitem', { name: '现场写卡开户' }).click();
    await ap.getByTestId('agent-customer').waitFor();
    // a walk-in customer registered with the service password opening needs
    await ap.getByRole('tab', { name: /新客户登记/ }).click();
    await ap.locator('#newCustomer_name').fill('赵渠道');
    await ap.locator('#newCustomer_idNumber').fill(demoResidentId('120103', '19920415', '318'));
    await ap.locator('#newCustomer_contactPhone').fill('13920007788');
    await ap.locator('#newCustomer_servicePassword').fill('480126');
    await ap.locator('#newCustomer_address').fill('天津市河西区友谊路 50 号');
    await ap.getByTestId('agent-create-customer').click();
    await expect.poll(() => ap.getByTestId('order-customer').innerText(), WAIT).toContain('赵渠道');
    const customer = await db().selectFrom('customers').select(['customer_id', 'service_password_hash']).where('name', '=', '赵渠道').executeTakeFirstOrThrow();
    expect(customer.service_password_hash).not.toBeNull();
    await ap.getByTestId('agent-next').click();
    // number, then plan
    await choose(ap, 'number_serviceNumber', number);
    await ap.getByTestId('agent-next').click();
    await choose(ap, 'plan_planCode', 'W3-46');
    await ap.getByTestId('agent-next').click();
    await ap.getByTestId('agent-read').waitFor();

    // no card in the reader, then the other injected reader failures: the seed's messages word for word
    await ap.getByTestId('read-card').click();
    await expect.poll(() => ap.getByTestId('reader-error').innerText(), WAIT).toContain('连接写卡器失败，请尝试重新插入白卡！');
    for (const [pickText, message] of [
      ['驱动', '写卡器驱动未安装。'],
      ['写卡脚本', '写卡脚本内容不存在，请把号卡文件维护到数据库！'],
    ] as const) {
      await choose(ap, 'sim-fail', pickText);
      await ap.getByTestId('sim-fail-next').click();
      await ap.getByTestId('read-card').click();
      await expect.poll(() => ap.getByTestId('reader-error').innerText(), WAIT).toContain(message);
    }
    // the simulator offers the channel's picked cards; insert the first, read it: the order is checked
    await ap.locator('#sim-iccid').click();
    await ap.locator('.ant-select-dropdown:visible .ant-select-item-option', { hasText: first }).waitFor();
    await ap.locator('#sim-iccid').fill(first);
    await ap.locator('#sim-iccid').press('Escape');
    await ap.getByTestId('sim-insert').click();
    await expect.poll(() => ap.getByTestId('sim-status').innerText(), WAIT).toContain(`${first} · 白卡`);
    await ap.getByTestId('read-card').click();
    await expect.poll(() => ap.getByTestId('reader-ok').innerText(), WAIT).toContain(`读卡成功：${first}`);
    // checked at once: everything passes but the write itself
    await expect.poll(() => ap.getByTestId('agent-check-passed').innerText(), WAIT).toContain('校验通过（待写卡）');
    await ap.getByTestId('agent-to-write').click();
    await ap.getByTestId('agent-write').waitFor();

    // the next write fails as "请更换白卡！": reported back, the card stays picked, the number free again
    await choose(ap, 'sim-fail', '请更换白卡');
    await ap.getByTestId('sim-fail-next').click();
    await ap.getByTestId('write-card').click();
    await expect.poll(() => ap.getByTestId('reader-error').innerText(), WAIT).toContain('请更换白卡！');
    const failed = await db().selectFrom('card_writes').selectAll().where('iccid', '=', first).orderBy('write_id').execute();
    expect(failed.map((w) => [w.state, w.error_code])).toEqual([['failed', 'CARD_NOT_BLANK']]);
    expect((await cardsAt([first]))[0]).toMatchObject({ state: 'picked', service_number: null });
    // written on the second attempt
    await ap.getByTestId('write-card').click();
    await expect.poll(() => ap.getByTestId('reader-ok').innerText(), WAIT).toContain(`写卡成功：${first} 已写入号码 ${number}`);
    expect((await cardsAt([first]))[0]).toMatchObject({ state: 'written', service_number: number });
    await expect.poll(() => ap.getByTestId('agent-write').getByTestId('agent-check-passed').innerText(), WAIT).toContain('校验通过');

    // fees, the receipt, the final submit
    await ap.getByTestId('agent-to-quote').click();
    await ap.getByTestId('order-quote').waitFor();
    await ap.getByTestId('order-to-receipt').click();
    await ap.frameLocator('[data-testid=receipt-frame]').getByText('免填单').first().waitFor();
    expect(await ap.frameLocator('[data-testid=receipt-frame]').locator('body').innerText()).toContain(number);
    await ap.getByTestId('order-to-submit').click();
    await ap.getByTestId('order-submit-button').click();
    const result = ap.getByTestId('order-result');
    await result.waitFor();
    expect(await result.innerText()).toContain('受理完成');
    expect((await cardsAt([first]))[0]).toMatchObject({ state: 'activated', service_number: number });
    const sub = await db().selectFrom('subscribers').select(['service_number', 'customer_id']).where('service_number', '=', number).executeTakeFirstOrThrow();
    expect(sub.customer_id).toBe(customer.customer_id);
    noCrash(agent);

    // the card's history: imported, transferred, picked, write failed, written, activated
    await ep.goto(`/stock/cards?iccid=${first}`);
    await expect.poll(() => ep.getByTestId('card-events').innerText(), WAIT).toMatch(/入库[\s\S]*调拨[\s\S]*代理商领卡[\s\S]*写卡失败[\s\S]*写卡成功[\s\S]*激活/);

    // ⑤ ess01 returns by range. The whole range holds the card now in use: refused, nothing changes
    await ep.getByRole('menuitem', { name: '代理商领卡/退卡' }).click();
    await ep.getByRole('tab', { name: '批量退卡' }).click();
    await choose(ep, 'return_channelDepartmentId', '宏达');
    await ep.getByTestId('return-form').getByText('号段').click();
    await ep.locator('#return_from').fill(first);
    await ep.locator('#return_to').fill(last);
    await ep.getByTestId('return-query').click();
    await expect.poll(() => ep.getByTestId('return-preview').innerText(), WAIT).toContain('号段内该渠道的卡');
    const before = await cardsAt(CARDS);
    await ep.getByTestId('return-submit').click();
    const refused = ep.getByTestId('stock-error');
    await expect.poll(() => refused.innerText(), WAIT).toContain('不能退回');
    expect(await refused.innerText()).toContain(first);
    expect(await cardsAt(CARDS)).toEqual(before);
    // R-RES-3: the nine picked cards returned for another channel → 卡库位不一致, with the cards named
    await ep.locator('#return_from').fill(CARDS[1] as string);
    await choose(ep, 'return_channelDepartmentId', '友谊手机卖场');
    await ep.getByTestId('return-submit').click();
    await expect.poll(() => refused.innerText(), WAIT).toContain('卡库位不一致');
    expect(await refused.innerText()).toContain(CARDS[1] as string);
    expect(await cardsAt(CARDS)).toEqual(before);
    expect(await db().selectFrom('stock_orders').select('stock_order_id').where('kind', '=', 'return').execute()).toEqual([]);

    // the nine cards still picked, for their own channel: returned to 13ZDF16 after the confirmation
    await choose(ep, 'return_channelDepartmentId', '宏达');
    await ep.locator('#return_from').fill(CARDS[1] as string);
    await ep.getByTestId('return-submit').click();
    const ok = ep.getByRole('dialog');
    await ok.getByTestId('confirm-document').waitFor();
    expect(await ok.getByTestId('confirm-document').innerText()).toContain('9 张卡');
    const ret = await db().selectFrom('stock_orders').selectAll().where('kind', '=', 'return').orderBy('stock_order_id', 'desc').executeTakeFirstOrThrow();
    expect(ret).toMatchObject({ state: 'pending', channel_department_id: CHANNEL, quantity: 9 });
    await ok.getByRole('button', { name: /确认提交/ }).click();
    await expect.poll(() => docRow(ep, Number(ret.stock_order_id)).innerText(), WAIT).toMatch(/退卡[\s\S]*13ZDF16[\s\S]*河西宏达通讯[\s\S]*已完成/);
    const rest = await cardsAt(CARDS.slice(1));
    expect(rest.map((c) => [c.state, c.warehouse_code, c.picked_by_department_id, c.stock_order_id])).toEqual(CARDS.slice(1).map(() => ['in_stock', '13ZDF16', null, null]));
    noCrash(ess);
  }, LONG);

  test('R-RES-1 R-X-12 a transfer cancelled by its sender releases its cards; one approved out and rejected by the target leaves them at the source', async () => {
    const keeper = await stockPage();
    await keeper.login('keeper01', 'demo-keeper01');
    const kp = keeper.page;
    await kp.goto('/stock/transfers');
    const cards = Array.from({ length: 5 }, (_, i) => demoBlankIccid(100 + i));
    const create = async () => {
      await kp.getByTestId('new-transfer').click();
      const dialog = kp.getByRole('dialog');
      await expect.poll(() => dialog.locator('.ant-select', { has: kp.locator('#transfer_sourceWarehouseCode') }).innerText(), WAIT).toContain('130041');
      await kp.locator('#transfer_targetWarehouseCode').fill('13ZDF16');
      await choose(kp, 'transfer_cardType', '普通');
      await dialog.getByText('ICCID 列表').click();
      await kp.locator('#transfer_iccidText').fill(`iccid\n${cards.join('\n')}\n`);
      const allocations = async () => db().selectFrom('stock_orders').select(['stock_order_id', 'quantity']).where('kind', '=', 'allocate').orderBy('stock_order_id', 'desc').execute();
      const before = (await allocations()).length;
      await kp.getByTestId('transfer-submit').click();
      await expect.poll(async () => (await allocations()).length, WAIT).toBe(before + 1);
      const created = (await allocations())[0];
      expect(Number(created?.quantity)).toBe(5);
      await expect.poll(() => docRow(kp, Number(created?.stock_order_id)).innerText(), WAIT).toContain('待调出审核');
      return Number(created?.stock_order_id);
    };
    // created, then cancelled by the sender before anyone approved it
    const cancelled = await create();
    expect((await cardsAt(cards)).every((c) => Number(c.stock_order_id) === cancelled)).toBe(true);
    await kp.getByTestId(`doc-${cancelled}-cancel`).click();
    await kp.getByRole('dialog').getByRole('button', { name: /撤\s*销/ }).click();
    await expect.poll(() => docRow(kp, cancelled).innerText(), WAIT).toContain('已撤销');
    expect((await cardsAt(cards)).map((c) => [c.warehouse_code, c.stock_order_id])).toEqual(cards.map(() => ['130041', null]));

    // created again and approved out; the target rejects it: the cards stay at 130041, released
    const rejected = await create();
    await kp.getByTestId(`doc-${rejected}-approve-out`).click();
    await expect.poll(() => docRow(kp, rejected).innerText(), WAIT).toContain('已调出，待调入审核');
    const ess = await stockPage();
    await ess.login('ess01', 'demo-ess01');
    const ep = ess.page;
    await ep.goto('/stock/transfers');
    await ep.getByRole('tab', { name: /调入/ }).click();
    await ep.getByTestId(`doc-${rejected}-reject`).click();
    await ep.getByRole('dialog').getByRole('button', { name: /拒\s*收/ }).click();
    await expect.poll(() => docRow(ep, rejected).innerText(), WAIT).toContain('已拒收');
    expect((await cardsAt(cards)).map((c) => [c.state, c.warehouse_code, c.stock_order_id])).toEqual(cards.map(() => ['in_stock', '130041', null]));
    // the sender sees it rejected, with nothing left to do on it
    await kp.reload();
    await expect.poll(() => docRow(kp, rejected).innerText(), WAIT).toContain('已拒收');
    expect(await kp.getByTestId(`doc-${rejected}-cancel`).count()).toBe(0);
    noCrash(keeper);
    noCrash(ess);
  }, LONG);

  test('R-RES-2 R-RES-3 a pick by ICCID list for the other channel, returned by an ICCID text file (bad lines reported, header skipped)', async () => {
    // three normal blank cards brought down to 13ZDF16 through the service (the UI path is the first test's)
    const cards = Array.from({ length: 3 }, (_, i) => demoBlankIccid(110 + i));
    const keeperActor = await actorOf('keeper01');
    const essActor = await actorOf('ess01');
    const t = await fd.ctx.stock.createTransfer(keeperActor, { kind: 'allocate', sourceWarehouseCode: '130041', targetWarehouseCode: '13ZDF16', cardType: 'blank_128k', iccids: cards });
    await fd.ctx.stock.act(keeperActor, t.stockOrderId, 'approve-out');
    await fd.ctx.stock.act(essActor, t.stockOrderId, 'approve-in');

    const ess = await stockPage();
    await ess.login('ess01', 'demo-ess01');
    const ep = ess.page;
    await ep.goto('/stock/agent-cards');
    await ep.getByTestId('pick-form').waitFor();
    await choose(ep, 'pick_channelDepartmentId', '友谊手机卖场');
    await choose(ep, 'pick_cardType', '普通');
    await ep.getByTestId('pick-form').getByText('ICCID 列表').click();
    // a line that is no ICCID is refused before anything is sent
    await ep.locator('#pick_iccidText').fill(`${cards.join('\n')}\n12345`);
    await ep.getByTestId('pick-submit').click();
    await ep.getByText('以下行不是有效的 ICCID：4: 12345').waitFor();
    await ep.locator('#pick_iccidText').fill(cards.join(', '));
    await ep.getByTestId('pick-submit').click();
    const dialog = ep.getByRole('dialog');
    await expect.poll(() => dialog.locator('.ant-modal-confirm-title').innerText(), WAIT).toBe('批量领卡成功，确认正式提交？');
    expect(await dialog.getByTestId('confirm-document').innerText()).toMatch(/3 张卡，社会渠道 河西友谊手机卖场/);
    await dialog.getByRole('button', { name: /确认提交/ }).click();
    await expect.poll(async () => (await cardsAt(cards)).map((c) => c.picked_by_department_id), WAIT).toEqual(cards.map(() => 'TJ-130041-C02'));

    // 批量退卡 by text file: the header and a bad line are reported, the three cards go back
    await ep.getByRole('tab', { name: '批量退卡' }).click();
    await choose(ep, 'return_channelDepartmentId', '友谊手机卖场');
    await ep.getByTestId('return-form').locator('input[type=file]').setInputFiles({ name: '退卡.txt', mimeType: 'text/plain', buffer: Buffer.from(`iccid\r\n${cards.join('\r\n')}\r\nnot-a-card\r\n`) });
    const summary = ep.getByTestId('return-file-summary');
    await expect.poll(() => summary.innerText(), WAIT).toContain('退卡.txt：读到 3 个 ICCID');
    expect(await summary.innerText()).toContain('1 行无法识别：5: not-a-card');
    await ep.getByTestId('return-submit').click();
    await dialog.getByTestId('confirm-document').waitFor();
    expect(await dialog.getByTestId('confirm-document').innerText()).toMatch(/退卡[\s\S]*3 张卡/);
    await dialog.getByRole('button', { name: /确认提交/ }).click();
    await expect.poll(async () => (await cardsAt(cards)).map((c) => [c.state, c.warehouse_code, c.picked_by_department_id]), WAIT).toEqual(cards.map(() => ['in_stock', '13ZDF16', null]));
    noCrash(ess);
  }, LONG);
});
