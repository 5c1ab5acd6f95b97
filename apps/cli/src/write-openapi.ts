import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { OPENAPI_FILE, generateOpenApi } from './openapi-document.js';

// `npm run openapi`: regenerate docs/openapi.json from the routes' schemas.
await writeFile(OPENAPI_FILE, await generateOpenApi());
process.stdout.write(`wrote ${fileURLToPath(OPENAPI_FILE)}\n`);
