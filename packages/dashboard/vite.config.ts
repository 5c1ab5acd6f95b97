import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * `@ferry/client`'s Node-only helpers (downloadExport writes files; the webhook verifiers use
 * node:crypto) are not called in the browser: Vite replaces their Node imports with empty modules.
 * Its notice about that, for those files only, is expected and not shown.
 */
const isClientNodeImport = (message: string) => message.includes('externalized for browser compatibility') && message.includes('/packages/client/src/');

export default defineConfig({
  root: here('./ui'),
  // Relative asset URLs: the dashboard works wherever the API is mounted (`/ui/`, or `/prefix/ui/`).
  base: './',
  // The workspace's client from its TypeScript sources (no build of it needed first).
  resolve: { conditions: ['@ferry/source', ...defaultClientConditions] },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: here('./dist'),
    emptyOutDir: true,
    target: 'es2022',
    rolldownOptions: {
      onLog(level, log, handler) {
        if (level === 'warn' && isClientNodeImport(log.message)) return;
        handler(level, log);
      },
    },
  },
});
