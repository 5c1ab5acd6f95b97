import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { SCHEMA_FILE, generateSchemaTypes } from './schema-types.js';

// `npm run client:types`: regenerate packages/client/src/schema.ts from docs/openapi.json.
await writeFile(SCHEMA_FILE, await generateSchemaTypes());
process.stdout.write(`wrote ${fileURLToPath(SCHEMA_FILE)}\n`);
