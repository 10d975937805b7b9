/**
 * The dashboard's build: a static bundle in dist/dashboard that the server serves at `/`.
 * Paths are relative to the repository root, where `npm run build` and `npm run
 * dashboard:dev` run. `base: './'` and hash routes let the server serve index.html as
 * it is, with no fallback route for client-side paths.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'dashboard',
  base: './',
  // Preact's JSX through esbuild, so no framework plugin is needed.
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { outDir: '../dist/dashboard', emptyOutDir: true, chunkSizeWarningLimit: 300 },
  server: {
    // The demo workflow is imported from examples/, outside the dashboard folder.
    fs: { allow: ['..'] },
    proxy: { '/api': process.env.CONVEYOR_URL ?? 'http://127.0.0.1:3000' },
  },
});
