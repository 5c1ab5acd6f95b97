import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { SCHEMA_FILE, generateSchemaTypes } from './codegen/schema-types.js';

it('the API types are committed exactly as openapi-typescript generates them from docs/openapi.json (run `npm run client:types`)', async () => {
  expect(await generateSchemaTypes()).toBe(await readFile(SCHEMA_FILE, 'utf8'));
});
