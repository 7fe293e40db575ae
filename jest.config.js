/** Jest runs the TypeScript sources as native ESM (Nest 12 and Aedes 1.x are ESM-only). */
export default {
  rootDir: '.',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.e2e-spec.ts', '<rootDir>/lib/**/*.spec.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    // Samples import the package by name, as users do; tests run them against the sources.
    '^nestjs-mqtt-ws$': '<rootDir>/lib/index.ts',
    '^nestjs-mqtt-ws/testing$': '<rootDir>/lib/testing/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: { ignoreCodes: [151002] } }],
  },
  testTimeout: 30000,
};
