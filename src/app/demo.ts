// Demo data: the 20 Tianjin branches of seed 003, a hall, operators for each role, bill items in use,
// customers with accounts, subscribers, books of several types and open bills. Loaded through the
// services, so it is audited and conserved like real work.
import { createHash } from 'node:crypto';
import { DEMO_CATALOG } from '../domains/catalog/demo-catalog.ts';
import { luhnCheckDigit } from '../domains/resources/rules.ts';
import { StockImportService } from '../domains/resources/stock-import.ts';
import { systemActor } from '../platform/audit.ts';
import { cycleOf } from '../platform/clock.ts';
import { hashSecret } from '../platform/passwords.ts';
import { businessLicenceCheckChar, residentIdCheckChar } from '../domains/customers/rules.ts';
import type { AppContext } from './context.ts';

/** seed 003: branch, branch warehouse (二级库在用仓库编码), social-channel writing warehouse. */
export const TIANJIN_BRANCHES: [string, string, string][] = [
  ['和平分公司', '130040', '13ZDF14'],
  ['河东分公司', '130043', '13ZDF13'],
  ['南开分公司', '130042', '13ZDF17'],
  ['河北分公司', '130044', '13ZDF15'],
  ['红桥分公司', '130045', '13ZDF18'],
  ['河西分公司', '130041', '13ZDF16'],
  ['塘沽分公司', '130050', '13ZDF1D'],
  ['西青分公司', '130047', '13ZDF1B'],
  ['东丽分公司', '130046', '13ZDF19'],
  ['武清分公司', '130054', '13ZE501'],
  ['宝坻分公司', '130055', '13ZDF22'],
  ['北辰分公司', '130049', '13ZDF1A'],
  ['大港分公司', '130052', '13ZDF1F'],
  ['蓟县分公司', '130057', '13ZDF23'],
  ['津南分公司', '130048', '13ZDF1C'],
  ['汉沽分公司', '130051', '13ZDF1E'],
  ['静海分公司', '130053', '13ZDF21'],
  ['宁河分公司', '130056', '13ZDF20'],
  ['销售部', '130072', '13ZDEF6'],
  ['渠道业务管理室', '130098', '13ZDF4B'],
];

/** Demo-only operators; the README prints these passwords. */
export const DEMO_OPERATORS = [
  { username: 'admin', name: '系统管理员', departmentId: 'TJ', roles: ['admin'], password: 'demo-admin' },
  { username: 'hall01', name: '张敏', departmentId: 'TJ-130041-H1', roles: ['front_desk'], password: 'demo-hall01' },
  // 值班经理: may waive fees (R-ORD-2) and complete installation work orders
  { username: 'lead01', name: '王芳', departmentId: 'TJ-130041-H1', roles: ['front_desk', 'hall_manager'], password: 'demo-lead01' },
  { username: 'hall02', name: '刘洋', departmentId: 'TJ-130040-H1', roles: ['front_desk'], password: 'demo-hall02' },
  { username: 'acct01', name: '陈静', departmentId: 'TJ-ACCT', roles: ['accounting'], password: 'demo-acct01' },
  { username: 'kam01', name: '赵磊', departmentId: 'TJ-KAM', roles: ['key_account'], password: 'demo-kam01' },
  { username: 'audit01', name: '孙丽', departmentId: 'TJ', roles: ['auditor'], password: 'demo-audit01' },
  // seed 003: the branch's second-level store keeper, the keeper of its social-channel writing
  // warehouse 13ZDF16 (who picks cards for agents), and two agents' operators
  { username: 'keeper01', name: '马骏', departmentId: 'TJ-130041', roles: ['stock_keeper'], password: 'demo-keeper01' },
  { username: 'ess01', name: '何静', departmentId: 'TJ-13ZDF16', roles: ['stock_keeper'], password: 'demo-ess01' },
  { username: 'agent01', name: '林强', departmentId: 'TJ-130041-C01', roles: ['agent'], password: 'demo-agent01' },
  { username: 'agent02', name: '高颖', departmentId: 'TJ-130041-C02', roles: ['agent'], password: 'demo-agent02' },
];

/** Demo social channels (社会渠道): [department id, parent branch, name]. */
export const DEMO_CHANNELS: [string, string, string][] = [
  ['TJ-130041-C01', 'TJ-130041', '河西宏达通讯（社会渠道）'],
  ['TJ-130041-C02', 'TJ-130041', '河西友谊手机卖场（社会渠道）'],
  ['TJ-130040-C01', 'TJ-130040', '和平滨江通讯（社会渠道）'],
];

export const demoResidentId = (region: string, birth: string, seq: string): string => {
  const body = `${region}${birth}${seq}`;
  return body + residentIdCheckChar(body);
};

export async function isDemoLoaded(ctx: AppContext): Promise<boolean> {
  const r = await ctx.database.db.selectFrom('departments').select('department_id').where('department_id', '=', 'TJ').executeTakeFirst();
  return r !== undefined;
}

/** Creates the organisation and operators. The admin password comes from OPENBOSS_ADMIN_PASSWORD when set. */
async function loadOrganisation(ctx: AppContext): Promise<void> {
  const db = ctx.database.db;
  await db.insertInto('departments').values({ department_id: 'TJ', parent_id: 'HQ', name: '天津市分公司', kind: 'company' }).execute();
  await db
    .insertInto('departments')
    .values(
      TIANJIN_BRANCHES.map(([name, wh, writing]) => ({
        department_id: `TJ-${wh}`,
        parent_id: 'TJ',
        name,
        kind: name.endsWith('分公司') ? ('branch' as const) : ('room' as const),
        warehouse_code: wh,
        writing_warehouse_code: writing,
      })),
    )
    .execute();
  await db
    .insertInto('departments')
    .values([
      // R-ORD-8: 友谊路 is a designated hall for pre-cancellation (预销号指定营业厅)
      { department_id: 'TJ-130041-H1', parent_id: 'TJ-130041', name: '河西友谊路营业厅', kind: 'hall', capabilities: ['pre_cancellation'] },
      { department_id: 'TJ-130040-H1', parent_id: 'TJ-130040', name: '和平滨江道营业厅', kind: 'hall' },
      { department_id: 'TJ-ACCT', parent_id: 'TJ', name: '帐务室', kind: 'room' },
      { department_id: 'TJ-KAM', parent_id: 'TJ', name: '大客户室', kind: 'room' },
      // each branch's social-channel writing warehouse is kept by its own department (seed 003)
      ...TIANJIN_BRANCHES.map(([name, wh, writing]) => ({ department_id: `TJ-${writing}`, parent_id: `TJ-${wh}`, name: `${name}社会渠道写卡库`, kind: 'room' as const })),
      ...DEMO_CHANNELS.map(([id, parent, name]) => ({ department_id: id, parent_id: parent, name, kind: 'channel' as const })),
    ])
    .execute();
  const at = ctx.clock.now();
  await db
    .insertInto('warehouses')
    .values([
      ...TIANJIN_BRANCHES.map(([name, wh]) => ({ warehouse_code: wh, name: `${name}二级库`, department_id: `TJ-${wh}`, level: 'branch' as const, created_at: at })),
      ...TIANJIN_BRANCHES.map(([name, wh, writing]) => ({
        warehouse_code: writing,
        name: `${name}社会渠道现场写卡库`,
        department_id: `TJ-${writing}`,
        parent_code: wh,
        level: 'writing' as const,
        created_at: at,
      })),
      { warehouse_code: '130041H1', name: '河西友谊路营业厅库', department_id: 'TJ-130041-H1', parent_code: '130041', level: 'hall', created_at: at },
      { warehouse_code: '130040H1', name: '和平滨江道营业厅库', department_id: 'TJ-130040-H1', parent_code: '130040', level: 'hall', created_at: at },
    ])
    // the migration creates the branch stores of departments that exist already
    .onConflict((oc) => oc.doNothing())
    .execute();
  const existing = new Set((await db.selectFrom('operators').select('username').execute()).map((r) => r.username));
  for (const op of DEMO_OPERATORS) {
    if (existing.has(op.username)) continue;
    const password = op.username === 'admin' && ctx.config.adminPassword ? ctx.config.adminPassword : op.password;
    await db
      .insertInto('operators')
      .values({ username: op.username, name: op.name, department_id: op.departmentId, roles: op.roles, password_hash: await hashSecret(password) })
      .execute();
  }
}

/** Demo blank cards (白卡) per branch warehouse: [warehouse, card type, how many, ICCID serial start]. */
export const DEMO_BLANK_CARDS: [string, 'blank_128k' | 'blank_128k_micro', number, number][] = [
  ['130041', 'blank_128k_micro', 60, 0],
  ['130041', 'blank_128k', 60, 100],
  ['130040', 'blank_128k_micro', 20, 200],
  ['130040', 'blank_128k', 20, 300],
];

/** The demo's blank card ICCIDs (89860126 2…, Luhn). */
export function demoBlankIccid(serial: number): string {
  const body = `898601262${String(100000 + serial).padStart(10, '0')}`;
  return body + luhnCheckDigit(body);
}

/** A demo card's card data: IMSI 4600 + the ICCID's digits 9–19 (unique per demo ICCID), a Ki from its digest. */
export function demoCardData(iccid: string): { imsi: string; ki: string } {
  return { imsi: `4600${iccid.slice(8, 19)}`, ki: createHash('sha256').update(`demo-ki-${iccid}`).digest('hex').slice(0, 32) };
}

/** A demo blank card with its card data (ICCID, IMSI, Ki in clear: demo only). */
export function demoBlankCard(serial: number): { iccid: string; imsi: string; ki: string } {
  const iccid = demoBlankIccid(serial);
  return { iccid, ...demoCardData(iccid) };
}

/**
 * Blank cards in the branch warehouses (河西 130041: 60 micro + 60 normal) and card data (IMSI/Ki)
 * for every blank card of the demo, loaded through the same card file and card data imports as real
 * stock, so the front desk can allocate them down to the writing warehouse, pick them for a channel
 * and write them.
 */
export async function loadDemoBlankCards(ctx: AppContext): Promise<{ cards: number; cardData: number }> {
  const db = ctx.database.db;
  const imports = new StockImportService({ db, clock: ctx.clock, kiBox: ctx.kiBox });
  const actor = systemActor('demo');
  let cards = 0;
  for (const [warehouseCode, cardType, n, start] of DEMO_BLANK_CARDS) {
    const lines = ['iccid', ...Array.from({ length: n }, (_, i) => demoBlankIccid(start + i))];
    const b = await imports.importCards(actor, `${lines.join('\n')}\n`, { warehouseCode, cardType, fileName: `demo-${warehouseCode}-${cardType}.txt` });
    cards += b.rowsImported;
  }
  // the blank cards of loadDemoStock too: a blank card without card data cannot be written
  const blank = await db
    .selectFrom('sim_cards as c')
    .select('c.iccid')
    .where('c.card_type', '<>', 'finished')
    .where((eb) => eb.not(eb.exists(eb.selectFrom('sim_card_data as d').select('d.iccid').whereRef('d.iccid', '=', 'c.iccid'))))
    .orderBy('c.iccid')
    .execute();
  if (blank.length === 0) return { cards, cardData: 0 };
  const data = ['iccid,imsi,ki', ...blank.map(({ iccid }) => `${iccid},${demoCardData(iccid).imsi},${demoCardData(iccid).ki}`)];
  const d = await imports.importCardData(actor, `${data.join('\n')}\n`, { fileName: 'demo-card-data.csv' });
  return { cards, cardData: d.rowsImported };
}

export async function loadDemo(ctx: AppContext): Promise<{ customers: number; accounts: number; subscribers: number }> {
  if (await isDemoLoaded(ctx)) throw new Error('demo data is already loaded');
  await loadOrganisation(ctx);
  await ctx.catalog.importCatalog(DEMO_CATALOG, systemActor('demo'));
  // number pool and SIM stock of the two demo halls' branches (河西, 和平)
  await ctx.resources.loadDemoStock(ctx.database.db, ['TJ-130041', 'TJ-130040']);
  await loadDemoBlankCards(ctx);
  const hall = { ...systemActor('demo'), departmentId: 'TJ-130041-H1' };
  const cycle = cycleOf(ctx.clock.now());
  const prev = previousCycle(cycle);
  let accounts = 0;
  let subscribers = 0;
  const key = (s: string) => `demo-${s}`;

  // 1. e9 family: one real-time account paying a mobile and a broadband; broadband fund restricted (R-E9-2)
  const wang = await ctx.customers.create(hall, {
    kind: 'person',
    name: '王小明',
    idType: 'resident_id',
    idNumber: demoResidentId('120103', '19850312', '251'),
    contactPhone: '13920001234',
    address: '天津市河西区友谊路 32 号',
    segment: 'family',
    vipLevel: 'silver',
    valueLevel: 3,
    servicePassword: '902417',
  });
  const wangAcc = await ctx.accounts.createAccount(hall, { customerId: wang.customerId, billingType: 'virtual', paymentMethod: 'cash' });
  const wangMobile = await ctx.accounts.createSubscriber(hall, { customerId: wang.customerId, accountId: wangAcc.accountId, serviceNumber: '18602201234', network: 'wcdma3g' });
  const wangBb = await ctx.accounts.createSubscriber(hall, { customerId: wang.customerId, accountId: wangAcc.accountId, serviceNumber: '18602201234', network: 'broadband' });
  await ctx.money.grant(hall, wangAcc.accountId, { amountFen: 10000, bookType: 'prepaid', reason: 'e9 自由话费 100 元' });
  await ctx.money.pay(hall, wangAcc.accountId, {
    amountFen: 60000,
    bookType: 'restricted_fund',
    restrictedItems: ['RENT_BB', 'ADDON_FEE', 'RENT_BB_ADJ'],
    channel: 'front_desk',
    idempotencyKey: key('wang-fund'),
  });
  await ctx.money.postBill(hall, wangAcc.accountId, {
    cycle,
    lines: [
      { subscriberId: wangBb.subscriberId, item: 'RENT_BB', amountFen: 5000 },
      { subscriberId: wangMobile.subscriberId, item: 'RENT_PLAN', amountFen: 1900 },
      { subscriberId: wangMobile.subscriberId, item: 'DATA', amountFen: 1250 },
    ],
  });
  accounts++;
  subscribers += 2;

  // 2. postpaid customer with arrears over two cycles and a partial cash payment
  const li = await ctx.customers.create(hall, {
    kind: 'person',
    name: '李华',
    idType: 'resident_id',
    idNumber: demoResidentId('120104', '19790826', '132'),
    contactPhone: '13602105678',
    address: '天津市南开区鞍山西道 88 号',
    servicePassword: '385160',
  });
  const liAcc = await ctx.accounts.createAccount(hall, { customerId: li.customerId, billingType: 'monthly', paymentMethod: 'cash' });
  const liMobile = await ctx.accounts.createSubscriber(hall, { customerId: li.customerId, accountId: liAcc.accountId, serviceNumber: '13602105678', network: 'gsm2g' });
  await ctx.money.postBill(hall, liAcc.accountId, {
    cycle: prev,
    lines: [
      { subscriberId: liMobile.subscriberId, item: 'RENT_PLAN', amountFen: 5800 },
      { subscriberId: liMobile.subscriberId, item: 'VOICE_LD', amountFen: 2310 },
      { subscriberId: liMobile.subscriberId, item: 'SMS', amountFen: 450 },
    ],
  });
  await ctx.money.postBill(hall, liAcc.accountId, { cycle, lines: [{ subscriberId: liMobile.subscriberId, item: 'RENT_PLAN', amountFen: 5800 }] });
  await ctx.money.pay(hall, liAcc.accountId, { amountFen: 5000, bookType: 'cash', channel: 'front_desk', idempotencyKey: key('li-cash') });
  accounts++;
  subscribers++;

  // 3. a parent pays the child's plan rent up to 30 yuan a month (他人付费, R-ACC-9)
  const zhao = await ctx.customers.create(hall, {
    kind: 'person',
    name: '赵小雨',
    idType: 'resident_id',
    idNumber: demoResidentId('120101', '20080105', '024'),
    contactPhone: '18522001122',
  });
  const zhaoAcc = await ctx.accounts.createAccount(hall, { customerId: zhao.customerId, billingType: 'quota', paymentMethod: 'recharge_card' });
  const zhaoMobile = await ctx.accounts.createSubscriber(hall, { customerId: zhao.customerId, accountId: zhaoAcc.accountId, serviceNumber: '18522001122', network: 'wcdma3g' });
  await ctx.accounts.createRelation(hall, zhaoMobile.subscriberId, { payerAccountId: liAcc.accountId, priority: 1, items: ['RENT_PLAN'], limitFen: 3000 });
  await ctx.money.pay(hall, zhaoAcc.accountId, { amountFen: 5000, bookType: 'recharge_card', channel: 'recharge_card', idempotencyKey: key('zhao-card') });
  await ctx.money.postBill(hall, zhaoAcc.accountId, {
    cycle,
    lines: [
      { subscriberId: zhaoMobile.subscriberId, item: 'RENT_PLAN', amountFen: 3600 },
      { subscriberId: zhaoMobile.subscriberId, item: 'SMS', amountFen: 300 },
    ],
  });
  accounts++;
  subscribers++;

  // 4. a group customer pays its members' rent without limit (集团统付, R-ACC-10)
  const orgBody = '91120103MA05K1234';
  const org = await ctx.customers.create(hall, {
    kind: 'organisation',
    name: '天津海河信息科技有限公司',
    idType: 'business_licence',
    idNumber: orgBody + businessLicenceCheckChar(orgBody),
    address: '天津市河西区解放南路 256 号',
    contactPhone: '02223456789',
    vipLevel: 'gold',
    valueLevel: 5,
    handler: { name: '周婷', idType: 'resident_id', idNumber: demoResidentId('120103', '19900214', '046'), phone: '13820003344' },
    contact: { name: '吴刚', idType: 'resident_id', idNumber: demoResidentId('120102', '19820930', '173'), phone: '13820005566' },
  });
  const orgAcc = await ctx.accounts.createAccount(hall, {
    customerId: org.customerId,
    billingType: 'monthly',
    paymentMethod: 'bank_collection',
    bankName: '中国工商银行天津分行',
    bankAccountHolder: '天津海河信息科技有限公司',
    bankAccountNumber: '0302001109300012345',
  });
  await ctx.money.pay(hall, orgAcc.accountId, { amountFen: 480000, bookType: 'bank_collection', channel: 'bank_collection', idempotencyKey: key('org-bank') });
  accounts++;
  for (const [i, n] of ['18622003301', '18622003302', '18622003303'].entries()) {
    const member = await ctx.customers.create(hall, {
      kind: 'person',
      name: ['钱进', '孙悦', '郑凯'][i] as string,
      idType: 'resident_id',
      idNumber: demoResidentId('120103', `1991060${i + 1}`, `31${i}`),
    });
    const mAcc = await ctx.accounts.createAccount(hall, { customerId: member.customerId, billingType: 'monthly', paymentMethod: 'cash' });
    const m = await ctx.accounts.createSubscriber(hall, { customerId: member.customerId, accountId: mAcc.accountId, serviceNumber: n, network: 'wcdma3g' });
    await ctx.accounts.createRelation(hall, m.subscriberId, { payerAccountId: orgAcc.accountId, priority: 1, items: ['RENT_PLAN', 'VOICE_LOCAL'] });
    await ctx.money.postBill(hall, mAcc.accountId, {
      cycle,
      lines: [
        { subscriberId: m.subscriberId, item: 'RENT_PLAN', amountFen: 8600 },
        { subscriberId: m.subscriberId, item: 'VOICE_LOCAL', amountFen: 1200 + 100 * i },
        { subscriberId: m.subscriberId, item: 'VAS', amountFen: 500 },
      ],
    });
    accounts++;
    subscribers++;
  }
  const customers = 3 + 1 + 3;
  ctx.log.info({ customers, accounts, subscribers }, 'demo data loaded');
  return { customers, accounts, subscribers };
}

function previousCycle(cycle: string): string {
  const [y, m] = cycle.split('-').map(Number) as [number, number];
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
}
