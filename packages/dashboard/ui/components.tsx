import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ShownError } from './api';

/** An API error as people need it: the stable code, the message, and the field it concerns. */
export function ErrorNotice({ error, title = 'Something went wrong' }: { error: ShownError | undefined; title?: string }) {
  if (!error) return null;
  return (
    <div class="notice notice-error" role="alert">
      <p class="notice-title">
        {title}: <code class="error-code">{error.code}</code>
      </p>
      <p class="error-message">{error.message}</p>
      {error.path && (
        <p>
          Field: <code class="error-path">{error.path}</code>
        </p>
      )}
      {error.operation && <p class="muted">Request: {error.operation}</p>}
    </div>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p class="muted" role="status">
      {what}…
    </p>
  );
}

/** An empty state that says what would fill it. */
export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <p class="empty-title">{title}</p>
      {children && <div class="muted">{children}</div>}
    </div>
  );
}

/** The first page after a load keeps the browser's own focus (so the first Tab reaches "Skip to content"). */
let firstPage = true;

/** A page's heading; it takes the focus when another page opens, so keyboard and screen-reader users land on it. */
export function PageHeader({ title, children }: { title: string; children?: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · Ferry`;
    if (firstPage) firstPage = false;
    else ref.current?.focus({ preventScroll: true });
  }, [title]);
  return (
    <div class="page-header">
      <h1 tabIndex={-1} ref={ref}>
        {title}
      </h1>
      {children && <div class="page-actions">{children}</div>}
    </div>
  );
}

const STATE_CLASS: Record<string, string> = {
  queued: 'badge-wait',
  running: 'badge-run',
  pending: 'badge-wait',
  completed: 'badge-ok',
  succeeded: 'badge-ok',
  enabled: 'badge-ok',
  active: 'badge-ok',
  failed: 'badge-bad',
  disabled: 'badge-bad',
  expired: 'badge-muted',
  revoked: 'badge-muted',
};

/** A state as a word with a colour: the word carries the meaning, the colour only helps. */
export function StateBadge({ state }: { state: string }) {
  return <span class={`badge ${STATE_CLASS[state] ?? 'badge-muted'}`}>{state}</span>;
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatNumber(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : n.toLocaleString('en-US');
}

/** A duration in words: `42 s`, `3 min`, `2 h 5 min`, `3 d`. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h${min % 60 ? ` ${min % 60} min` : ''}`;
  return `${Math.floor(h / 24)} d`;
}

/** A timestamp, shown in the reader's time zone, with the exact ISO time on hover. */
export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span class="muted">—</span>;
  const date = new Date(iso);
  return (
    <time dateTime={iso} title={iso}>
      {date.toLocaleString('en-GB', { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' })}
    </time>
  );
}

/** A labelled form control: the label's `for` names the control's id. */
export function Field({ id, label, hint, children, wide }: { id: string; label: string; hint?: ComponentChildren; children: ComponentChildren; wide?: boolean }) {
  return (
    <div class={`field${wide ? ' field-wide' : ''}`}>
      <label for={id}>{label}</label>
      {children}
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
    </div>
  );
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      // Clipboard access needs a secure context or a permission; the text stays selectable.
    }
  };
  return (
    <button type="button" class="button button-small" onClick={copy}>
      {copied ? 'Copied' : label}
    </button>
  );
}

/**
 * A secret the API shows only once (an endpoint's signing secret, a new API key): displayed until
 * dismissed, then gone from the page and from memory.
 */
export function SecretOnce({ title, value, children, onDismiss }: { title: string; value: string; children?: ComponentChildren; onDismiss: () => void }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <div class="notice notice-secret" role="region" aria-label={title} tabIndex={-1} ref={ref}>
      <p class="notice-title">{title}</p>
      <p>Copy it now: Ferry shows it only this once.</p>
      <div class="secret-row">
        <code class="secret" data-testid="secret">
          {value}
        </code>
        <CopyButton text={value} label="Copy secret" />
      </div>
      {children}
      <button type="button" class="button" onClick={onDismiss}>
        I have stored it
      </button>
    </div>
  );
}

/** A table that scrolls sideways inside itself on narrow screens instead of widening the page. */
export function TableWrap({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-wrap" role="region" aria-label={label} tabIndex={0}>
      <table>{children}</table>
    </div>
  );
}

export function Stat({ label, value, hint }: { label: string; value: ComponentChildren; hint?: ComponentChildren }) {
  return (
    <div class="stat">
      <dt>{label}</dt>
      <dd>
        <span class="stat-value">{value}</span>
        {hint && <span class="stat-hint">{hint}</span>}
      </dd>
    </div>
  );
}
