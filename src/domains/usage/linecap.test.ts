// R-BIL-3: a line longer than MAX_LINE_BYTES is cut down to a marker (bounded memory) whatever the
// chunks the file arrives in; every other line passes unchanged and the line count is kept.
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { LineCap, MAX_LINE_BYTES } from './import.ts';

const TOO_LONG = '\u0000LINE_TOO_LONG';

async function through(chunks: Buffer[]): Promise<string> {
  const out: Buffer[] = [];
  for await (const b of Readable.from(chunks, { objectMode: false }).pipe(new LineCap())) out.push(b as Buffer);
  return Buffer.concat(out).toString('latin1');
}

/** What LineCap must give: each line (newline excluded) over the limit becomes the marker. */
function expected(text: string): string {
  const parts = text.split('\n');
  return parts.map((l) => (l.length > MAX_LINE_BYTES ? TOO_LONG : l)).join('\n');
}

test('R-BIL-3 property: lines over MAX_LINE_BYTES become the marker, the rest pass unchanged, whatever the chunking', async () => {
  const line = fc.oneof(fc.integer({ min: 0, max: 60 }), fc.integer({ min: MAX_LINE_BYTES - 2, max: MAX_LINE_BYTES + 2 }), fc.integer({ min: 2 * MAX_LINE_BYTES, max: 3 * MAX_LINE_BYTES }));
  await fc.assert(
    fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 12 }), fc.boolean(), fc.array(fc.integer({ min: 1, max: 3 * MAX_LINE_BYTES }), { minLength: 1, maxLength: 8 }), async (lengths, endsWithNewline, cuts) => {
      const text = lengths.map((n, i) => String.fromCharCode(97 + (i % 26)).repeat(n)).join('\n') + (endsWithNewline ? '\n' : '');
      const bytes = Buffer.from(text, 'latin1');
      const chunks: Buffer[] = [];
      let at = 0;
      for (let i = 0; at < bytes.length; i++) {
        const n = cuts[i % cuts.length] as number;
        chunks.push(bytes.subarray(at, at + n));
        at += n;
      }
      expect(await through(chunks)).toBe(expected(text));
    }),
    { numRuns: 300 },
  );
});
