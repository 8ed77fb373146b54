// The house style: neostandard (standard for TypeScript: no semicolons, a space before function
// parentheses, single quotes), as the code is written. `npm run lint`; CI runs it.
import neostandard from 'neostandard'

export default [
  // src/wire/*.ts are generated from protocols/*.proto (scripts/gen-protos.mjs).
  ...neostandard({ ts: true, ignores: ['dist/**', 'node_modules/**', 'src/wire/**', 'sim-out/**'] }),
  {
    files: ['**/*.ts'],
    rules: {
      // Fire-and-forget promises are marked `void p` on purpose.
      'no-void': ['error', { allowAsStatement: true }],
      // Short objects and ternaries stay on one line when they read well.
      '@stylistic/object-property-newline': 'off',
      '@stylistic/multiline-ternary': 'off',
      // `_` names what is deliberately unused (a destructured rest, an iteration variable).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // A late-bound handle (`let node` read by closures before it is assigned) stays `let`.
      'prefer-const': ['error', { destructuring: 'all', ignoreReadBeforeAssign: true }],
      // prom-client metrics register themselves when constructed.
      'no-new': 'off',
      // Validators match control characters on purpose.
      'no-control-regex': 'off',
      // Loops whose condition reads state the body changes through another name (queues, cursors).
      'no-unmodified-loop-condition': 'off',
      // `for await (… of stream) { …; return }` reads the first chunk of a stream.
      'no-unreachable-loop': 'off'
    }
  },
  {
    // The layering rule (docs/ARCHITECTURE.md): a layer imports nothing from the layers above it.
    files: ['src/core/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/services/**', '**/node/**', '**/daemon/**', '**/cli/**', '**/simulations/**'], message: 'core/ is pure: it imports nothing from services, node, daemon, cli or simulations.' }] }] }
  },
  {
    files: ['src/services/**/*.ts', 'src/store/**/*.ts', 'src/util/**/*.ts', 'src/wire/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/node/**', '**/daemon/**', '**/cli/**', '**/simulations/**'], message: 'services, store and util do not import node, daemon, cli or simulations.' }] }] }
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/core/**', 'src/services/**', 'src/store/**', 'src/util/**', 'src/wire/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/simulations/**'], message: 'src never imports simulations (simulations import src).' }] }] }
  }
]
