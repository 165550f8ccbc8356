// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "**/dist/**",
      "packages/livekit-swarm/lib/**",
      // what the package carries, copied at pack time (bundle.ts SHIPPED)
      "packages/livekit-swarm/scenarios/**",
      "packages/livekit-swarm/chaos/**",
      "packages/livekit-swarm/tools/**",
      "**/node_modules/**",
      ".tools/**",
      "eslint.config.js",
      ".dependency-cruiser.cjs",
      "scripts/**/*.mjs",
      "packages/*/bin/*.mjs",
      "dashboards/**",
      // k6 scripts run in k6 (its modules, __ENV/__VU globals), not Node: storm.test.ts has k6 inspect them
      "scenarios/k6/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: ["./tsconfig.eslint.json"], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/restrict-template-expressions": [
        "error",
        { allowNumber: true, allowBoolean: true },
      ],
    },
  },
);
