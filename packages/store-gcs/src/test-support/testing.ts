/** Test support for code that runs Ferry against GCS without Google: a local protocol-level server. */
import { readFileSync } from 'node:fs';
import { Storage } from '@google-cloud/storage';
// The library's own transport (a dependency of @google-cloud/storage, same version): used unchanged,
// only pointed at the fake's token endpoint.
import { DefaultTransporter } from 'google-auth-library';
import { publicKeyOf } from './v4-verify.js';
import { startFakeGcs, type FakeGcs, type FakeGcsOptions } from './fake-gcs-server.js';
import { storageOptions } from '../gcs-store.js';
import type { GcsStoreOptions } from '../options.js';

export { startFakeGcs, type FakeGcs, type FakeGcsOptions, type RecordedRequest, type RequestKind } from './fake-gcs-server.js';

/** Google's published, inactive conformance-test service account: signs offline, verifiable locally. */
export const TEST_SERVICE_ACCOUNT = JSON.parse(readFileSync(new URL('../fixtures/service-account.json', import.meta.url), 'utf8')) as {
  client_email: string;
  private_key: string;
};

/** A fake GCS bucket that accepts V4 URLs signed by TEST_SERVICE_ACCOUNT (and its JWTs, with `requireAuth`). */
export function startFakeGcsFor(bucket: string, extra: Pick<FakeGcsOptions, 'requireAuth' | 'tokenLifetimeSec'> = {}): Promise<FakeGcs> {
  return startFakeGcs({ bucket, signer: { clientEmail: TEST_SERVICE_ACCOUNT.client_email, publicKey: publicKeyOf(TEST_SERVICE_ACCOUNT.private_key) }, ...extra });
}

const GOOGLE_TOKEN_URL = /^https:\/\/(?:www\.googleapis\.com\/oauth2\/v4|oauth2\.googleapis\.com)\/token$/;

/**
 * The Storage client the store builds from `options` (`storageOptions`, production's own), with the
 * two things a real bucket has and an emulator lacks: requests are authenticated although the
 * endpoint is custom, and the OAuth token request goes to the fake's token endpoint instead of
 * Google's. Everything else (the JWT the key signs, token caching and refresh, the Bearer header)
 * is the library's.
 */
export function authenticatedStorage(options: GcsStoreOptions, fake: Pick<FakeGcs, 'tokenUrl'>): Storage {
  class ToFakeTokenEndpoint extends DefaultTransporter {
    override request<T>(opts: Parameters<DefaultTransporter['request']>[0]) {
      return super.request<T>(GOOGLE_TOKEN_URL.test(String(opts.url)) ? { ...opts, url: fake.tokenUrl } : opts);
    }
  }
  return new Storage({ ...storageOptions(options), useAuthWithCustomEndpoint: true, clientOptions: { transporter: new ToFakeTokenEndpoint() } });
}
