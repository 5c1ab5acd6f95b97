import { useState } from 'preact/hooks';
import { unwrap, type Account, type ApiKey } from '@ferry/client';
import { useApp } from '../context';
import { useAction, useResource } from '../hooks';
import { href } from '../router';
import { Empty, ErrorNotice, Field, Loading, PageHeader, SecretOnce, StateBadge, TableWrap, Time } from '../components';

/**
 * The operator's view (needs FERRY_ADMIN_TOKEN): accounts (tenants) and their keys. A new key is
 * shown once. Publishing dataset versions is on each dataset's page.
 */
export function Admin() {
  const { admin } = useApp();
  if (!admin) {
    return (
      <>
        <PageHeader title="Admin" />
        <Empty title="The admin view needs the admin token.">
          Sign out and sign in again with the operator's <code>FERRY_ADMIN_TOKEN</code> in “Admin token” to manage accounts, keys and dataset versions.
        </Empty>
      </>
    );
  }
  return <Accounts />;
}

function Accounts() {
  const { admin } = useApp();
  const api = admin!;
  const accounts = useResource(async () => unwrap(await api.GET('/admin/accounts')).data, [api]);
  const [name, setName] = useState('');
  const [selected, setSelected] = useState<number | null>(null);
  const create = useAction(async () => {
    const account = unwrap(await api.POST('/admin/accounts', { body: name.trim() ? { name: name.trim() } : {} }));
    setName('');
    await accounts.reload();
    setSelected(account.id);
  });
  const chosen = accounts.data?.find((a) => a.id === selected);
  return (
    <>
      <PageHeader title="Admin" />
      <p class="muted">
        Accounts are tenants: each sees only its own exports, endpoints and deliveries. Publish dataset versions from a <a href={href('/datasets')}>dataset's page</a>.
      </p>
      <section aria-labelledby="accounts-h">
        <h2 id="accounts-h">Accounts</h2>
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void create.run();
          }}
        >
          <Field id="account-name" label="New account name">
            <input id="account-name" value={name} maxLength={200} onInput={(e) => setName(e.currentTarget.value)} />
          </Field>
          <button type="submit" class="button button-primary" disabled={create.busy}>
            Create account
          </button>
        </form>
        <ErrorNotice error={create.error} title="Could not create the account" />
        <ErrorNotice error={accounts.error} title="Could not load accounts" />
        {!accounts.data && !accounts.error && <Loading />}
        {accounts.data?.length === 0 && <Empty title="No account yet." />}
        {accounts.data && accounts.data.length > 0 && (
          <TableWrap label="Accounts, table">
            <thead>
              <tr>
                <th scope="col">Id</th>
                <th scope="col">Name</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {accounts.data.map((a) => (
                <tr key={a.id} aria-selected={a.id === selected}>
                  <td class="num">{a.id}</td>
                  <td>{a.name ?? <span class="muted">(unnamed)</span>}</td>
                  <td>
                    <Time iso={a.createdAt} />
                  </td>
                  <td>
                    <button type="button" class="button button-small" aria-pressed={a.id === selected} onClick={() => setSelected(a.id)} aria-label={`Keys of ${a.name ?? `account ${a.id}`}`}>
                      Keys
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </TableWrap>
        )}
      </section>
      {chosen && <Keys key={chosen.id} account={chosen} />}
    </>
  );
}

function Keys({ account }: { account: Account }) {
  const { admin } = useApp();
  const api = admin!;
  const label = account.name ?? `account ${account.id}`;
  const keys = useResource(async () => unwrap(await api.GET('/admin/accounts/{id}/keys', { params: { path: { id: account.id } } })).data, [api, account.id]);
  const [created, setCreated] = useState<string | null>(null);
  const create = useAction(async () => {
    const key = unwrap(await api.POST('/admin/accounts/{id}/keys', { params: { path: { id: account.id } } }));
    setCreated(key.key);
    await keys.reload();
  });
  const revoke = useAction(async (key: ApiKey) => {
    if (!confirm(`Revoke the key ${key.prefix}…? Requests with it are refused at once.`)) return;
    unwrap(await api.DELETE('/admin/keys/{keyId}', { params: { path: { keyId: key.id } } }));
    await keys.reload();
  });
  return (
    <section aria-labelledby="keys-h">
      <div class="section-head">
        <h2 id="keys-h">Keys of {label}</h2>
        <button type="button" class="button button-primary" onClick={() => create.run()} disabled={create.busy}>
          Create key
        </button>
      </div>
      {created && (
        <SecretOnce title={`New API key for ${label}`} value={created} onDismiss={() => setCreated(null)}>
          <p>Give it to the account's owner: they sign in with it, and send it as x-api-key.</p>
        </SecretOnce>
      )}
      <ErrorNotice error={create.error} title="Could not create a key" />
      <ErrorNotice error={revoke.error} title="Could not revoke the key" />
      <ErrorNotice error={keys.error} title="Could not load keys" />
      {!keys.data && !keys.error && <Loading />}
      {keys.data?.length === 0 && <Empty title="This account has no key yet." />}
      {keys.data && keys.data.length > 0 && (
        <TableWrap label={`Keys of ${label}, table`}>
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">State</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.data.map((k) => (
              <tr key={k.id}>
                <td>
                  <code>{k.prefix}…</code>
                </td>
                <td>
                  <Time iso={k.createdAt} />
                </td>
                <td>
                  <Time iso={k.lastUsedAt} />
                </td>
                <td>{k.revokedAt ? <StateBadge state="revoked" /> : <StateBadge state="active" />}</td>
                <td>
                  {!k.revokedAt && (
                    <button type="button" class="button button-small button-danger" onClick={() => revoke.run(k)} disabled={revoke.busy} aria-label={`Revoke ${k.prefix}`}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </TableWrap>
      )}
    </section>
  );
}
