import { useEffect, useState } from 'preact/hooks';

/**
 * Routing by the URL's hash (`#/exports/<id>`): the server serves one page at /ui/, links work
 * without a server-side fallback, and the back button and bookmarks behave. A hash never holds a
 * credential.
 */
export interface Route {
  /** The path without `#`, e.g. `/exports/5f0c...`. */
  path: string;
  /** The path split into segments: `['exports', '5f0c...']`. */
  parts: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/';
  const [path = '/', search = ''] = raw.split('?', 2);
  const normalized = path.startsWith('/') ? path : `/${path}`;
  return { path: normalized, parts: normalized.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(search) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

/** A link target for a dashboard path, e.g. `href('/exports', { state: 'failed' })`. */
export function href(path: string, query?: Record<string, string | undefined>): string {
  const params = new URLSearchParams(Object.entries(query ?? {}).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
  const search = params.toString();
  return `#${path}${search ? `?${search}` : ''}`;
}

export function navigate(path: string, query?: Record<string, string | undefined>): void {
  location.hash = href(path, query);
}
