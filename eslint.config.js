// Lint rules for the whole tree: typescript-eslint's recommended set on TypeScript (the portal's too),
// ESLint's on the JavaScript entry points and benchmark scripts. Formatting is Prettier's job (`npm run format`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', 'coverage/', 'bench/results/', 'portal/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  // The portal runs in the browser (its vite.config.ts in Node, at build time).
  { files: ['portal/src/**'], languageOptions: { globals: { ...globals.browser } } },
  // Tests read untyped JSON answers and drive fixtures loosely; `any` is allowed there only.
  { files: ['test/**'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
);
