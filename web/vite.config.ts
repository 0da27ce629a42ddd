// The front-desk web app: `npm run build:web` writes web/dist, which the server serves at `/`.
// `npm run dev:web` serves it with hot reload and forwards /api to a server on :8080.
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  publicDir: false,
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // antd and React make one large vendor chunk; the app is used on a LAN, not a phone network
    chunkSizeWarningLimit: 2000,
  },
  server: { proxy: { '/api': 'http://localhost:8080' } },
});
