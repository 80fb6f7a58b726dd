// typescript-eslint recommended, plus the one architectural rule: tasks/ never imports app/.
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "node_modules/",
      "dist/",
      "app/static/",
      "results_data/",
      "docs/",
      ".test-services/",
      ".dev-stack/",
      ".compose-test/",
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["tasks/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["**/app/*", "../app/*", "../../app/*"], message: "tasks/ must not import app/" }] },
      ],
    },
  },
);
