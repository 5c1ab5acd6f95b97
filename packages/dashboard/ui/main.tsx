import { render } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { clientFor } from './api';
import { App } from './context';
import { clearSession, loadSession, type Session } from './session';
import { Layout } from './layout';
import { SignIn } from './pages/sign-in';
import './styles.css';

function Root() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const app = useMemo(
    () => session && { session, client: clientFor({ apiKey: session.apiKey }), admin: session.adminToken ? clientFor({ apiKey: '', adminToken: session.adminToken }) : null },
    [session],
  );
  if (!app) return <SignIn onSignedIn={setSession} />;
  return (
    <App.Provider value={app}>
      <Layout
        onSignOut={() => {
          clearSession();
          setSession(null);
        }}
      />
    </App.Provider>
  );
}

render(<Root />, document.getElementById('app')!);
