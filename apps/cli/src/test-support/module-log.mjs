// Preloaded with `--import` (NODE_OPTIONS) into a Ferry process under test: appends the URL of
// every module the process loads to the file FERRY_TEST_MODULE_LOG names, so a test can tell
// which plugin modules and SDKs a start-up imported. Plain JavaScript: it runs before tsx.
import { register } from 'node:module';

if (process.env.FERRY_TEST_MODULE_LOG) {
  register('./module-log-hooks.mjs', import.meta.url, { data: { file: process.env.FERRY_TEST_MODULE_LOG } });
}
