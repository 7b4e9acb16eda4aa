import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// Tauri v2 loads the built files from ../ui/dist (frontendDist) and, in dev,
// from the Vite dev server on a fixed port (devUrl http://localhost:5173).
const host = process.env.TAURI_DEV_HOST;

export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  envPrefix: ['VITE_', 'TAURI_ENV_'],
  server: {
    port: 5173,
    strictPort: true,
    host: host || false,
    hmr: host ? { protocol: 'ws', host, port: 5174 } : undefined,
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Webviews used by Tauri v2: WebView2 (Chromium) on Windows, WebKitGTK/WKWebView elsewhere.
    target: ['es2022', 'chrome105', 'safari15'],
    // No inline script is emitted, so a strict CSP (default-src 'self') is enough.
    modulePreload: { polyfill: false },
    sourcemap: !!process.env.TAURI_ENV_DEBUG,
    minify: process.env.TAURI_ENV_DEBUG ? false : 'oxc',
    assetsInlineLimit: 0,
  },
});
