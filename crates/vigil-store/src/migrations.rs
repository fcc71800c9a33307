//! The schema, as numbered steps applied in order and recorded in
//! `PRAGMA user_version`. A step is never edited once released: add one.

use rusqlite::Connection;

use crate::StoreError;

const STEPS: &[&str] = &[
    // 1: documents, indicators, sightings, accounts, tips, full-text index.
    r#"
    CREATE TABLE account (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        handle TEXT,
        platform_account_id TEXT,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        document_count INTEGER NOT NULL DEFAULT 0,
        CHECK (handle IS NOT NULL OR platform_account_id IS NOT NULL)
    );
    CREATE UNIQUE INDEX account_by_handle ON account (platform, handle) WHERE handle IS NOT NULL;
    CREATE UNIQUE INDEX account_by_platform_id ON account (platform, platform_account_id) WHERE platform_account_id IS NOT NULL;

    CREATE TABLE document (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('tip', 'post')),
        platform TEXT,
        platform_post_id TEXT,
        author_account_id INTEGER REFERENCES account (id),
        url TEXT,
        text TEXT NOT NULL,
        text_sha256 TEXT NOT NULL,
        language TEXT,
        observed_at INTEGER NOT NULL,
        CHECK ((kind = 'post') = (platform IS NOT NULL AND platform_post_id IS NOT NULL))
    );
    CREATE UNIQUE INDEX document_by_post ON document (platform, platform_post_id) WHERE kind = 'post';
    CREATE INDEX document_by_time ON document (observed_at DESC, id DESC);

    CREATE TABLE tip (
        document_id INTEGER PRIMARY KEY REFERENCES document (id),
        receipt_hash BLOB NOT NULL UNIQUE,
        status TEXT NOT NULL CHECK (status IN ('received', 'under_review', 'acted_on')),
        follow_up_count INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE indicator (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        sighting_count INTEGER NOT NULL,
        UNIQUE (kind, value)
    );

    CREATE TABLE sighting (
        indicator_id INTEGER NOT NULL REFERENCES indicator (id),
        document_id INTEGER NOT NULL REFERENCES document (id),
        seen_at INTEGER NOT NULL,
        span_start INTEGER,
        span_end INTEGER,
        PRIMARY KEY (indicator_id, document_id)
    ) WITHOUT ROWID;
    CREATE INDEX sighting_by_time ON sighting (indicator_id, seen_at DESC, document_id DESC);
    CREATE INDEX sighting_by_document ON sighting (document_id);

    CREATE TABLE document_account (
        document_id INTEGER NOT NULL REFERENCES document (id),
        account_id INTEGER NOT NULL REFERENCES account (id),
        role TEXT NOT NULL CHECK (role IN ('author', 'mention')),
        PRIMARY KEY (document_id, account_id)
    ) WITHOUT ROWID;
    CREATE INDEX document_account_by_account ON document_account (account_id);

    -- The full-text index keeps its own copy of each text, folded for search
    -- (Arabic diacritics and letter variants); unicode61 folds Latin accents.
    CREATE VIRTUAL TABLE document_fts USING fts5 (
        text,
        tokenize = "unicode61 remove_diacritics 2"
    );
    "#,
    // 2: the content categories of each document, for search and triage.
    r#"
    CREATE TABLE document_category (
        document_id INTEGER NOT NULL REFERENCES document (id),
        category TEXT NOT NULL,
        score REAL NOT NULL,
        PRIMARY KEY (document_id, category)
    ) WITHOUT ROWID;
    CREATE INDEX document_category_by_category ON document_category (category, document_id);
    "#,
    // 3: tracking: account status and profile, account history, successor
    // proposals and the alerts raised for them.
    r#"
    ALTER TABLE account ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'reported', 'suspended', 'reappeared'));
    ALTER TABLE account ADD COLUMN status_changed_at INTEGER;
    ALTER TABLE account ADD COLUMN display_name TEXT;
    ALTER TABLE account ADD COLUMN bio TEXT;
    ALTER TABLE account ADD COLUMN avatar_sha256 TEXT;
    UPDATE account SET status_changed_at = first_seen;
    CREATE INDEX account_by_status ON account (status, id);
    CREATE INDEX account_by_avatar ON account (avatar_sha256) WHERE avatar_sha256 IS NOT NULL;

    -- What the latest profile snapshot links to, as indicators.
    CREATE TABLE account_link (
        account_id INTEGER NOT NULL REFERENCES account (id),
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (account_id, kind, value)
    ) WITHOUT ROWID;

    CREATE TABLE account_event (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES account (id),
        kind TEXT NOT NULL CHECK (kind IN ('first_seen', 'status_changed', 'profile_snapshot',
            'successor_proposed', 'successor_confirmed', 'successor_rejected')),
        at INTEGER NOT NULL,
        changed_by TEXT NOT NULL,
        status TEXT,
        reported_to TEXT,
        -- A profile snapshot; links one per line as kind, tab, value.
        display_name TEXT,
        bio TEXT,
        avatar_sha256 TEXT,
        links TEXT,
        related_account_id INTEGER REFERENCES account (id),
        note TEXT
    );
    CREATE INDEX account_event_by_account ON account_event (account_id, id DESC);
    -- Existing accounts get the event they would have had.
    INSERT INTO account_event (account_id, kind, at, changed_by) SELECT id, 'first_seen', first_seen, 'vigil' FROM account;

    CREATE TABLE successor (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES account (id),
        predecessor_id INTEGER NOT NULL REFERENCES account (id),
        score REAL NOT NULL,
        -- One piece of evidence per line.
        evidence TEXT NOT NULL,
        explanation TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'confirmed', 'rejected')),
        found_at INTEGER NOT NULL,
        reviewed_by TEXT,
        reviewed_at INTEGER,
        UNIQUE (account_id, predecessor_id),
        CHECK (account_id <> predecessor_id)
    );
    CREATE INDEX successor_by_predecessor ON successor (predecessor_id);

    CREATE TABLE alert (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        raised_at INTEGER NOT NULL,
        successor_id INTEGER NOT NULL REFERENCES successor (id)
    );
    "#,
    // 4: actors (the person, outlet or network behind accounts) and sites
    // (domains and URLs hosting propaganda), each with its history.
    r#"
    CREATE TABLE actor (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('person', 'outlet', 'network', 'unknown')),
        created_at INTEGER NOT NULL,
        -- Set when merged into another actor; a merged actor keeps its history.
        merged_into INTEGER REFERENCES actor (id)
    );
    CREATE TABLE actor_event (
        id INTEGER PRIMARY KEY,
        actor_id INTEGER NOT NULL REFERENCES actor (id),
        kind TEXT NOT NULL CHECK (kind IN ('created', 'renamed', 'account_added', 'account_removed', 'merged', 'split')),
        at INTEGER NOT NULL,
        changed_by TEXT NOT NULL,
        name TEXT,
        account_id INTEGER REFERENCES account (id),
        related_actor_id INTEGER REFERENCES actor (id),
        note TEXT
    );
    CREATE INDEX actor_event_by_actor ON actor_event (actor_id, id DESC);
    ALTER TABLE account ADD COLUMN actor_id INTEGER REFERENCES actor (id);
    CREATE INDEX account_by_actor ON account (actor_id, id) WHERE actor_id IS NOT NULL;

    CREATE TABLE site (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('domain', 'url')),
        value TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'online' CHECK (status IN ('online', 'offline', 'taken_down')),
        status_changed_at INTEGER NOT NULL,
        first_seen INTEGER NOT NULL,
        host_abuse_contact TEXT,
        registrar_abuse_contact TEXT,
        takedown_requests INTEGER NOT NULL DEFAULT 0,
        UNIQUE (kind, value)
    );
    CREATE INDEX site_by_status ON site (status, id);
    CREATE TABLE site_event (
        id INTEGER PRIMARY KEY,
        site_id INTEGER NOT NULL REFERENCES site (id),
        kind TEXT NOT NULL CHECK (kind IN ('first_seen', 'status_changed', 'takedown_requested', 'contacts_changed')),
        at INTEGER NOT NULL,
        changed_by TEXT NOT NULL,
        status TEXT,
        note TEXT
    );
    CREATE INDEX site_event_by_site ON site_event (site_id, id DESC);
    -- The transparency report counts status changes by status over time.
    CREATE INDEX account_event_by_status ON account_event (status, at) WHERE kind = 'status_changed';
    "#,
    // 5: API keys (only the SHA-256 of each token) and the hash-chained,
    // append-only audit log.
    r#"
    CREATE TABLE api_key (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('partner', 'analyst', 'admin')),
        platform TEXT,
        token_sha256 BLOB NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        revoked_at INTEGER,
        revoked_by TEXT
    );

    CREATE TABLE audit_entry (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        records TEXT NOT NULL,
        detail TEXT NOT NULL,
        previous_hash BLOB NOT NULL,
        hash BLOB NOT NULL
    );
    -- The chain detects a change; the triggers refuse one made through SQL
    -- without dropping them first.
    CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    "#,
    // 6: receipt codes in two parts, a locator kept as SHA-256 and a secret
    // kept as Argon2id (codes issued before keep their whole-code SHA-256
    // and no secret hash), and tipsters' follow-ups to their own tips.
    r#"
    ALTER TABLE tip RENAME COLUMN receipt_hash TO receipt_locator_hash;
    ALTER TABLE tip ADD COLUMN receipt_secret_hash TEXT;
    CREATE TABLE tip_follow_up (
        document_id INTEGER PRIMARY KEY REFERENCES document (id),
        tip_document_id INTEGER NOT NULL REFERENCES tip (document_id)
    );
    CREATE INDEX tip_follow_up_by_tip ON tip_follow_up (tip_document_id);
    "#,
    // 7: a TLS client certificate (its SHA-256) may stand for a key.
    r#"
    ALTER TABLE api_key ADD COLUMN client_certificate_sha256 BLOB;
    CREATE UNIQUE INDEX api_key_by_client_certificate ON api_key (client_certificate_sha256)
        WHERE client_certificate_sha256 IS NOT NULL;
    "#,
    // 8: sealed tips: the text encrypted to the operator's key, and none in
    // `text` or the full-text index.
    r#"
    ALTER TABLE document ADD COLUMN sealed_text BLOB;
    "#,
    // 9: referrals (evidence packages for one recipient), their items and
    // lifecycle events; alerts may now be raised for urgent referrals, so
    // the alert table is rebuilt with a kind and a nullable successor.
    r#"
    CREATE TABLE referral (
        id INTEGER PRIMARY KEY,
        recipient TEXT NOT NULL,
        recipient_kind TEXT NOT NULL CHECK (recipient_kind IN ('platform', 'hosting_provider', 'authority')),
        reason TEXT NOT NULL,
        -- One category per line.
        categories TEXT NOT NULL,
        priority TEXT NOT NULL CHECK (priority IN ('routine', 'high', 'urgent')),
        tlp TEXT NOT NULL CHECK (tlp IN ('clear', 'green', 'amber', 'amber+strict', 'red')),
        status TEXT NOT NULL CHECK (status IN ('draft', 'approved', 'sent', 'acknowledged', 'actioned', 'rejected')),
        status_changed_at INTEGER NOT NULL,
        drafted_by TEXT NOT NULL,
        drafted_at INTEGER NOT NULL,
        approved_by TEXT,
        approved_at INTEGER,
        recipient_reference TEXT,
        opened_by_document INTEGER REFERENCES document (id),
        -- Four eyes, kept by the schema too.
        CHECK (approved_by IS NULL OR approved_by <> drafted_by)
    );
    CREATE INDEX referral_by_status ON referral (status, id);
    CREATE TABLE referral_item (
        id INTEGER PRIMARY KEY,
        referral_id INTEGER NOT NULL REFERENCES referral (id),
        -- The item's own marking, when stricter than the referral's.
        tlp TEXT CHECK (tlp IN ('clear', 'green', 'amber', 'amber+strict', 'red')),
        added_by TEXT NOT NULL,
        added_at INTEGER NOT NULL,
        account_id INTEGER REFERENCES account (id),
        site_id INTEGER REFERENCES site (id),
        indicator_id INTEGER REFERENCES indicator (id),
        document_id INTEGER REFERENCES document (id),
        -- Excerpts: the span quoted (byte offsets; none for the whole text),
        -- the text as quoted and the document's SHA-256 at intake.
        span_start INTEGER,
        span_end INTEGER,
        excerpt TEXT,
        CHECK ((account_id IS NOT NULL) + (site_id IS NOT NULL) + (indicator_id IS NOT NULL)
            + (document_id IS NOT NULL) = 1),
        CHECK ((document_id IS NULL) = (excerpt IS NULL))
    );
    CREATE INDEX referral_item_by_referral ON referral_item (referral_id, id);
    CREATE TABLE referral_event (
        id INTEGER PRIMARY KEY,
        referral_id INTEGER NOT NULL REFERENCES referral (id),
        kind TEXT NOT NULL CHECK (kind IN ('drafted', 'items_added', 'approved', 'sent', 'acknowledged', 'actioned',
            'rejected')),
        at INTEGER NOT NULL,
        changed_by TEXT NOT NULL,
        note TEXT
    );
    CREATE INDEX referral_event_by_referral ON referral_event (referral_id, id);

    CREATE TABLE alert_rebuilt (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        raised_at INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('successor', 'urgent_referral')),
        successor_id INTEGER REFERENCES successor (id),
        referral_id INTEGER REFERENCES referral (id),
        CHECK ((kind = 'successor') = (successor_id IS NOT NULL)),
        CHECK ((kind = 'urgent_referral') = (referral_id IS NOT NULL))
    );
    INSERT INTO alert_rebuilt (id, raised_at, kind, successor_id)
        SELECT id, raised_at, 'successor', successor_id FROM alert;
    DROP TABLE alert;
    ALTER TABLE alert_rebuilt RENAME TO alert;
    "#,
    // 10: imports: each source (a STIX bundle, a MISP event) and the objects
    // taken from it, so that a second import changes nothing; markings on
    // the indicators and accounts imported.
    r#"
    ALTER TABLE indicator ADD COLUMN tlp TEXT CHECK (tlp IN ('clear', 'green', 'amber', 'amber+strict', 'red'));
    ALTER TABLE account ADD COLUMN tlp TEXT CHECK (tlp IN ('clear', 'green', 'amber', 'amber+strict', 'red'));
    CREATE TABLE import_source (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        format TEXT NOT NULL CHECK (format IN ('stix', 'misp')),
        tlp TEXT CHECK (tlp IN ('clear', 'green', 'amber', 'amber+strict', 'red')),
        first_imported_at INTEGER NOT NULL,
        imported_by TEXT NOT NULL
    );
    CREATE TABLE import_object (
        import_source_id INTEGER NOT NULL REFERENCES import_source (id),
        object_id TEXT NOT NULL,
        indicator_id INTEGER REFERENCES indicator (id),
        account_id INTEGER REFERENCES account (id),
        -- Sightings: when the source saw the indicator, and how often.
        seen_at INTEGER,
        count INTEGER,
        PRIMARY KEY (import_source_id, object_id)
    ) WITHOUT ROWID;
    "#,
];

pub(crate) const LATEST: usize = STEPS.len();

/// Brings the schema up to date. The first statement takes SQLite's write
/// lock, so two processes starting at once apply each step once.
pub(crate) fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    migrate_through(connection, LATEST)
}

/// Applies the steps after the database's version, up to `last`; below
/// [`LATEST`] only to build the databases older binaries left.
pub(crate) fn migrate_through(connection: &mut Connection, last: usize) -> Result<(), StoreError> {
    let transaction = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let current: usize = transaction.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if current > LATEST {
        return Err(StoreError::SchemaTooNew { found: current, known: LATEST });
    }
    for (index, step) in STEPS.iter().enumerate().take(last).skip(current) {
        let version = index + 1;
        transaction.execute_batch(step).map_err(|source| StoreError::Migration { version, source })?;
        transaction
            .pragma_update(None, "user_version", version)
            .map_err(|source| StoreError::Migration { version, source })?;
        tracing::info!(version, "applied database migration");
    }
    transaction.commit()?;
    Ok(())
}
