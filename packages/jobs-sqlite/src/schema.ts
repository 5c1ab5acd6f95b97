/** Schema migrations, applied in order; `PRAGMA user_version` records how far a database has come. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    created_at  INTEGER NOT NULL
  );
  CREATE TABLE api_keys (
    key_hash    TEXT PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    created_at  INTEGER NOT NULL
  );
  CREATE TABLE settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
  );
  CREATE TABLE endpoints (
    id               TEXT PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts(id),
    url              TEXT NOT NULL,
    scheme           TEXT NOT NULL,
    secrets          TEXT NOT NULL,          -- JSON [{value, expiresAt}], newest first
    events           TEXT,                   -- JSON array of filters; NULL for implicit endpoints
    description      TEXT,
    registered       INTEGER NOT NULL,
    schedule         TEXT,                   -- JSON array of ms; NULL = default
    enabled          INTEGER NOT NULL DEFAULT 1,
    disabled_reason  TEXT,
    failing_since    INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX endpoints_implicit ON endpoints(account_id, url, scheme) WHERE registered = 0;
  CREATE INDEX endpoints_account ON endpoints(account_id, registered);
  CREATE TABLE exports (
    id              TEXT PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    name            TEXT NOT NULL,
    format          TEXT NOT NULL,
    compression     TEXT NOT NULL,
    webhook_url     TEXT NOT NULL,
    endpoint_id     TEXT NOT NULL,
    dataset_key     TEXT NOT NULL,
    query           TEXT NOT NULL,
    hmac_signature  TEXT NOT NULL,
    notify_on_failure INTEGER NOT NULL DEFAULT 0,
    split           TEXT,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    requested_at    INTEGER NOT NULL,
    run_after       INTEGER NOT NULL,
    started_at      INTEGER,
    finished_at     INTEGER,
    updated_at      INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    progress_rows   INTEGER NOT NULL DEFAULT 0,
    progress_bytes  INTEGER NOT NULL DEFAULT 0,
    result          TEXT,
    expires_at      INTEGER,
    error           TEXT,
    downloads       INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX exports_due ON exports(state, run_after);
  CREATE INDEX exports_expiry ON exports(state, expires_at);
  CREATE TABLE events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    type        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    export_id   TEXT,
    body        TEXT NOT NULL
  );
  CREATE INDEX events_account ON events(account_id, seq);
  CREATE TABLE deliveries (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    account_id       INTEGER NOT NULL REFERENCES accounts(id),
    endpoint_id      TEXT NOT NULL,
    message_id       TEXT NOT NULL,
    export_id        TEXT,
    event_type       TEXT NOT NULL,
    body             TEXT NOT NULL,
    headers          TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    retry_index      INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    lease_owner      TEXT,
    lease_until      INTEGER,
    created_at       INTEGER NOT NULL,
    last_error       TEXT,
    last_status      INTEGER
  );
  CREATE INDEX deliveries_due ON deliveries(state, next_attempt_at);
  CREATE INDEX deliveries_account ON deliveries(account_id, seq);
  CREATE TABLE delivery_attempts (
    delivery_id    TEXT NOT NULL,
    n              INTEGER NOT NULL,
    at             INTEGER NOT NULL,
    duration_ms    INTEGER NOT NULL,
    status         INTEGER,
    error          TEXT,
    response_body  TEXT,
    PRIMARY KEY (delivery_id, n)
  );
  CREATE TABLE downloads (
    id         INTEGER PRIMARY KEY,
    export_id  TEXT NOT NULL REFERENCES exports(id),
    at         INTEGER NOT NULL,
    bytes      INTEGER NOT NULL,
    client     TEXT NOT NULL,
    range      TEXT
  );
  `,
  // 2: dataset versions (snapshots + deltas) and schedules (docs/versions.md).
  `
  CREATE TABLE dataset_versions (
    dataset_key        TEXT NOT NULL,
    version_number     INTEGER NOT NULL,
    cursor             TEXT NOT NULL UNIQUE,
    previous_cursor    TEXT,
    changed_row_count  INTEGER NOT NULL,
    row_count          INTEGER NOT NULL,
    counters           TEXT NOT NULL,          -- JSON object of the dataset's counters
    published_at       INTEGER NOT NULL,
    snapshot_key       TEXT NOT NULL,
    delta_key          TEXT NOT NULL,
    pruned_at          INTEGER,
    PRIMARY KEY (dataset_key, version_number)
  );
  CREATE TABLE schedules (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,                -- 'export' | 'version'
    account_id   INTEGER REFERENCES accounts(id),
    name         TEXT NOT NULL,
    dataset_key  TEXT NOT NULL,
    cron         TEXT NOT NULL,
    body         TEXT NOT NULL,                -- JSON
    next_run_at  INTEGER NOT NULL,
    last_run_at  INTEGER,
    created_at   INTEGER NOT NULL
  );
  CREATE INDEX schedules_due ON schedules(next_run_at);
  CREATE INDEX schedules_account ON schedules(account_id, created_at);
  `,
  // 3: the split job store (packages/core/src/job-store.ts). Accounts get a name; API keys get a
  // public id to list and revoke them by, a display prefix, last use and revocation. SQLite cannot
  // add a primary key to a table, so api_keys is rebuilt; a key stored before gets an id derived
  // from its hash and an empty prefix (the key itself was never stored).
  `
  ALTER TABLE accounts ADD COLUMN name TEXT;
  CREATE TABLE api_keys_v3 (
    id            TEXT PRIMARY KEY,
    key_hash      TEXT NOT NULL UNIQUE,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    prefix        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
  );
  INSERT INTO api_keys_v3 (id, key_hash, account_id, prefix, created_at)
    SELECT 'key_' || substr(key_hash, 1, 16), key_hash, account_id, '', created_at FROM api_keys;
  DROP TABLE api_keys;
  ALTER TABLE api_keys_v3 RENAME TO api_keys;
  CREATE INDEX api_keys_account ON api_keys(account_id, created_at);
  -- Fair export claims count live leases and retake dead ones; listings page by account.
  CREATE INDEX exports_lease ON exports(state, lease_until);
  CREATE INDEX exports_account ON exports(account_id, requested_at);
  -- Delivery claims count live leases per endpoint; settled deliveries hold no lease.
  CREATE INDEX deliveries_leased ON deliveries(endpoint_id, lease_until) WHERE lease_until IS NOT NULL;
  CREATE INDEX deliveries_endpoint ON deliveries(endpoint_id, state);
  CREATE INDEX events_created ON events(created_at);
  `,
  // 4: fair claims read only the head of each account's (endpoint's) queue: these indexes give the
  // accounts (endpoints) with work by a loose index scan, and each one's queue in claim order.
  `
  CREATE INDEX exports_queued_heads ON exports(account_id, requested_at, id) WHERE state = 'queued';
  CREATE INDEX deliveries_pending_heads ON deliveries(endpoint_id, next_attempt_at, seq) WHERE state = 'pending';
  `,
  // 5: cheaper settlements. Every attempt logged under its delivery's random text id landed on a
  // page of its own in the attempt log's key (a batch of 16 wrote 16 pages); keyed by the
  // delivery's seq, a batch's attempts share a few. deliveries_endpoint only served pending
  // deliveries of one endpoint, which deliveries_pending_heads covers, and cost an index update
  // per settlement (docs/benchmarks.md, "Webhook deliveries").
  `
  CREATE TABLE delivery_attempts_v5 (
    delivery_seq   INTEGER NOT NULL,
    n              INTEGER NOT NULL,
    at             INTEGER NOT NULL,
    duration_ms    INTEGER NOT NULL,
    status         INTEGER,
    error          TEXT,
    response_body  TEXT,
    PRIMARY KEY (delivery_seq, n)
  ) WITHOUT ROWID;
  INSERT INTO delivery_attempts_v5 (delivery_seq, n, at, duration_ms, status, error, response_body)
    SELECT d.seq, a.n, a.at, a.duration_ms, a.status, a.error, a.response_body
    FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id;
  DROP TABLE delivery_attempts;
  ALTER TABLE delivery_attempts_v5 RENAME TO delivery_attempts;
  DROP INDEX deliveries_endpoint;
  `,
];
