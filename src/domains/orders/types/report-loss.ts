// 挂失 REPORT_LOSS (seed 004 §6.10.1 报停/报失): a lost or stolen phone is stopped with the reason `lost`.
// R-X-1: a payment never clears it; only RESUME after the loss does, with the service password — so
// reporting the loss needs the password too (nobody else may stop someone's line as lost).
import { stopType } from './suspend.ts';

export const reportLoss = stopType({
  code: 'REPORT_LOSS',
  name: { zh: '挂失', en: 'Report loss' },
  reason: 'lost',
  sensitive: true,
  already: {
    code: 'ALREADY_LOST',
    message: { zh: '该用户已挂失', en: 'The subscriber is already reported lost' },
    fix: { zh: '无需重复挂失；找回手机或补卡后请办理报开', en: 'Nothing to do; after finding the phone or replacing the SIM, use RESUME' },
  },
  notices: [
    {
      zh: '挂失后缴费不会恢复通话；找回手机或补卡后，须凭服务密码办理报开（解挂）。',
      en: 'A payment does not reopen a lost line; after finding the phone or replacing the SIM, RESUME with the service password.',
    },
  ],
});
