import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The portal's build: `npm run build` writes it to dist/portal, which Cerulean serves at /portal
 * (src/server/portal-routes.ts). Only files come out (no inline script or style), so the strict
 * Content-Security-Policy holds; hashed names under assets/ let them be cached for good.
 * `npx vite --config portal/vite.config.ts` serves it for development, the APIs proxied to a
 * Cerulean on CERULEAN_URL (default http://127.0.0.1:8080).
 */
const cerulean = process.env.CERULEAN_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/portal/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/portal', import.meta.url)),
    emptyOutDir: true,
    // Every asset a file of its own: nothing inlined into the HTML or CSS.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
    reportCompressedSize: false,
  },
  server: { proxy: { '/admin': cerulean, '/v1': cerulean } },
});
