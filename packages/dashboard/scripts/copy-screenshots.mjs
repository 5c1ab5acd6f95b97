// Copy the screenshots the README shows from the browser suite's output (tmp/screenshots/, written
// by `vitest run packages/dashboard`) to docs/images/. `npm run screenshots` runs both steps.
import { copyFile, mkdir, stat } from 'node:fs/promises';

const root = new URL('../../../', import.meta.url);
const CHOSEN = {
  'new-export.png': 'dashboard-new-export.png',
  'export-detail.png': 'dashboard-export-detail.png',
  'deliveries.png': 'dashboard-deliveries.png',
  'phone-export-detail.png': 'dashboard-phone-export.png',
};

await mkdir(new URL('docs/images/', root), { recursive: true });
for (const [from, to] of Object.entries(CHOSEN)) {
  const source = new URL(`tmp/screenshots/${from}`, root);
  await stat(source).catch(() => {
    throw new Error(`tmp/screenshots/${from} is missing: run the browser suite first (npm run screenshots runs it)`);
  });
  await copyFile(source, new URL(`docs/images/${to}`, root));
  console.log(`docs/images/${to}`);
}
