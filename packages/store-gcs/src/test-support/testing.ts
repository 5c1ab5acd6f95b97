/** Test support for code that runs Ferry against GCS without Google: a local protocol-level server. */
import { readFileSync } from 'node:fs';
import { publicKeyOf } from './v4-verify.js';
import { startFakeGcs, type FakeGcs } from './fake-gcs-server.js';

export { startFakeGcs, type FakeGcs } from './fake-gcs-server.js';

/** Google's published, inactive conformance-test service account: signs offline, verifiable locally. */
export const TEST_SERVICE_ACCOUNT = JSON.parse(readFileSync(new URL('../fixtures/service-account.json', import.meta.url), 'utf8')) as {
  client_email: string;
  private_key: string;
};

/** A fake GCS bucket that accepts V4 URLs signed by TEST_SERVICE_ACCOUNT. */
export function startFakeGcsFor(bucket: string): Promise<FakeGcs> {
  return startFakeGcs({ bucket, signer: { clientEmail: TEST_SERVICE_ACCOUNT.client_email, publicKey: publicKeyOf(TEST_SERVICE_ACCOUNT.private_key) } });
}
