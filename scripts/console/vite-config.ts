import { fileURLToPath } from 'node:url';
import type { InlineConfig } from 'vite';

/** The console's sources and where the build goes (git-ignored; the product serves it at `/`). */
export const CONSOLE_SRC = fileURLToPath(new URL('../../src/console/', import.meta.url));
export const CONSOLE_DIST = fileURLToPath(new URL('../../dist/console/', import.meta.url));

/**
 * One Vite configuration for the build and the dev server. JSX goes through esbuild's automatic runtime
 * with Preact's import source, so no Babel preset is needed; everything is bundled, nothing is loaded
 * from a CDN at run time (users run it on closed networks).
 */
export function consoleViteConfig(overrides: InlineConfig = {}): InlineConfig {
  return {
    configFile: false,
    root: CONSOLE_SRC,
    base: '/',
    logLevel: 'warn',
    esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
    build: { outDir: CONSOLE_DIST, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 1000 },
    ...overrides,
  };
}
