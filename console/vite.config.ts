import { fileURLToPath } from 'node:url'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

const root = fileURLToPath(new URL('.', import.meta.url))
const api = process.env.KINDRED_CONSOLE_API ?? 'http://127.0.0.1:8787'

/**
 * The console is a static single-page app: the Kindred server serves `console/dist` at `/` with
 * an SPA fallback, so history URLs such as `/profiles/:id` are linkable. In development
 * (`npx vite --config console/vite.config.ts`) `/api` and `/v1` are proxied to a running server.
 */
export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 2500,
  },
  server: {
    proxy: {
      '/api': { target: api, changeOrigin: true },
      '/v1': { target: api, changeOrigin: true },
    },
  },
})
