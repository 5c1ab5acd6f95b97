import { useState } from 'preact/hooks';
import { unwrap } from '@ferry/client';
import { clientFor, describeError, type ShownError } from '../api';
import { ErrorNotice, Field } from '../components';
import { saveSession, type Session } from '../session';

/**
 * Sign in with the account's API key (and, for the admin view, the operator's token). Both are
 * checked against the API before anything is kept, and then kept in sessionStorage only.
 */
export function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [apiKey, setApiKey] = useState('');
  const [adminToken, setAdminToken] = useState('');
  const [error, setError] = useState<ShownError | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const session: Session = { apiKey: apiKey.trim(), adminToken: adminToken.trim() || null };
    try {
      unwrap(await clientFor({ apiKey: session.apiKey }).GET('/datasets'));
      if (session.adminToken) unwrap(await clientFor({ apiKey: '', adminToken: session.adminToken }).GET('/admin/accounts'));
      saveSession(session);
      onSignedIn(session);
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  return (
    <main class="sign-in" id="main">
      <h1>Sign in to Ferry</h1>
      <p class="muted">Your key stays in this browser tab only (session storage): it is forgotten when you close the tab or sign out.</p>
      {/* method=post: should the script fail, a browser never puts the fields into the URL. */}
      <form method="post" onSubmit={submit} class="stack" aria-describedby="sign-in-help">
        <Field id="api-key" label="API key" hint="The key `npm start` printed at its first start (or FERRY_API_KEY), or one your operator created for your account.">
          <input id="api-key" name="api-key" type="password" autocomplete="off" spellcheck={false} required value={apiKey} onInput={(e) => setApiKey(e.currentTarget.value)} aria-describedby="api-key-hint" />
        </Field>
        <Field id="admin-token" label="Admin token (optional)" hint="The operator's FERRY_ADMIN_TOKEN: opens the admin view (accounts, keys, publishing versions).">
          <input id="admin-token" name="admin-token" type="password" autocomplete="off" spellcheck={false} value={adminToken} onInput={(e) => setAdminToken(e.currentTarget.value)} aria-describedby="admin-token-hint" />
        </Field>
        <ErrorNotice error={error} title="Could not sign in" />
        <div>
          <button type="submit" class="button button-primary" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </div>
      </form>
      <p id="sign-in-help" class="hint">
        No key yet? An operator creates accounts and keys in the admin view, or with <code>POST /admin/accounts</code>.
      </p>
    </main>
  );
}
