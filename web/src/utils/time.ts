// Business time is Asia/Shanghai (SPEC), whatever the browser's own time zone is.
const TZ = 'Asia/Shanghai';
// sv-SE formats as "2026-11-15 10:00:00"
const dateTime = new Intl.DateTimeFormat('sv-SE', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateOnly = new Intl.DateTimeFormat('sv-SE', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit' });

/** "2026-11-15 10:00:00" in Shanghai time; "" for no instant. */
export function formatTime(iso: string | null | undefined): string {
  return iso ? dateTime.format(new Date(iso)) : '';
}

/** The business date "2026-11-15" of an instant. */
export function businessDate(iso: string): string {
  return dateOnly.format(new Date(iso));
}
