export default {
  typescript: {
    rewritePaths: { 'test/': 'dist/test/' },
    compile: false,
  },
  files: ['test/**/*.test.ts'],
  // Tests count OS threads through /proc/self/task: each test file needs its own process.
  workerThreads: false,
  timeout: '60s',
  concurrency: 2,
};
