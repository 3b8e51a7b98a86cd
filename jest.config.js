// Tests are compiled by tsc (npm test builds first) and run as native ESM,
// so what jest runs is exactly what ships in dist/.
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/dist/test'],
  testMatch: ['**/*.test.js'],
  transform: {},
  // no test reads this machine's /etc/ssh (see test/support/isolate-system-ssh.ts); after
  // the framework, so the temp folder it makes is removed with each file's tests
  setupFilesAfterEnv: ['<rootDir>/dist/test/support/isolate-system-ssh.js'],
  testTimeout: 60000,
  // integration tests start real sshd processes; two workers suit a 2-core machine
  maxWorkers: 2,
};
