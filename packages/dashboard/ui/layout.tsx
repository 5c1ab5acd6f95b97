import { useEffect, useState } from 'preact/hooks';
import { useApp } from './context';
import { href, useRoute, type Route } from './router';
import { Overview } from './pages/overview';
import { Exports } from './pages/exports';
import { ExportDetail } from './pages/export-detail';
import { NewExport } from './pages/new-export';
import { Endpoints } from './pages/endpoints';
import { Deliveries, DeliveryPage } from './pages/deliveries';
import { DatasetDetail, Datasets } from './pages/datasets';
import { Schedules } from './pages/schedules';
import { Admin } from './pages/admin';
import { Empty, PageHeader } from './components';

const NAV = [
  { path: '/', label: 'Overview', match: (r: Route) => r.parts.length === 0 },
  { path: '/exports', label: 'Exports', match: (r: Route) => r.parts[0] === 'exports' },
  { path: '/new', label: 'New export', match: (r: Route) => r.parts[0] === 'new' },
  { path: '/endpoints', label: 'Endpoints', match: (r: Route) => r.parts[0] === 'endpoints' },
  { path: '/deliveries', label: 'Deliveries', match: (r: Route) => r.parts[0] === 'deliveries' },
  { path: '/datasets', label: 'Datasets', match: (r: Route) => r.parts[0] === 'datasets' },
  { path: '/schedules', label: 'Schedules', match: (r: Route) => r.parts[0] === 'schedules' },
  { path: '/admin', label: 'Admin', match: (r: Route) => r.parts[0] === 'admin' },
];

function Page({ route }: { route: Route }) {
  const [section, id] = route.parts;
  switch (section) {
    case undefined:
      return <Overview />;
    case 'exports':
      return id ? <ExportDetail id={id} /> : <Exports route={route} />;
    case 'new':
      return <NewExport route={route} />;
    case 'endpoints':
      return <Endpoints />;
    case 'deliveries':
      return id ? <DeliveryPage id={id} /> : <Deliveries route={route} />;
    case 'datasets':
      return id ? <DatasetDetail datasetKey={id} /> : <Datasets />;
    case 'schedules':
      return <Schedules />;
    case 'admin':
      return <Admin />;
    default:
      return (
        <>
          <PageHeader title="Not found" />
          <Empty title={`There is no page at ${route.path}.`}>
            <a href={href('/')}>Go to the overview</a>
          </Empty>
        </>
      );
  }
}

export function Layout({ onSignOut }: { onSignOut: () => void }) {
  const route = useRoute();
  const { session } = useApp();
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => setMenuOpen(false), [route.path]);
  return (
    <>
      <a class="skip-link" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href={href('/')}>
          Ferry
        </a>
        <button type="button" class="button button-small menu-toggle" aria-expanded={menuOpen} aria-controls="nav" onClick={() => setMenuOpen(!menuOpen)}>
          Menu
        </button>
        <nav id="nav" aria-label="Main" class={menuOpen ? 'open' : ''}>
          <ul>
            {NAV.map((item) => (
              <li key={item.path}>
                <a href={href(item.path)} aria-current={item.match(route) ? 'page' : undefined}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span class="muted">{session.adminToken ? 'API key + admin token' : 'API key'}</span>
          <button type="button" class="button button-small" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} />
      </main>
    </>
  );
}
