// Browser tests (test/e2e): the server with the demo data on an in-memory PGlite and Debian's
// chromium; run once by `npm test` after the PGlite phase, or alone with `npm run test:e2e`.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // one browser and one server per file; files one after another keep CPU and memory modest
    fileParallelism: false,
  },
});
