import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real daemons; give them room but never hang CI.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 15_000,
    pool: 'forks',
    // 2-core CI machine: integration files each spawn several daemons.
    maxWorkers: 2,
    fileParallelism: true
  }
})
