import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { FerryClient } from '@ferry/client';
import type { Session } from './session';

export interface AppContext {
  session: Session;
  /** Calls the API with the account's key (and the admin token when one was given). */
  client: FerryClient;
  /** The admin token's client, or null when signed in without one. */
  admin: FerryClient | null;
}

export const App = createContext<AppContext | null>(null);

export function useApp(): AppContext {
  const app = useContext(App);
  if (!app) throw new Error('useApp outside the signed-in app');
  return app;
}
