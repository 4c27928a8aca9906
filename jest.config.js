/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }],
    // jose ships only ES modules, which Jest's CommonJS runtime cannot load (before Node 24.9).
    "/node_modules/jose/.+\\.js$": [
      "ts-jest",
      { tsconfig: { allowJs: true, module: "commonjs", target: "ES2022", isolatedModules: true } },
    ],
  },
  transformIgnorePatterns: ["/node_modules/(?!jose/)"],
  testTimeout: 60000,
  maxWorkers: 2,
};
