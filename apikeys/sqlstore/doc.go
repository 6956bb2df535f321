// Package sqlstore keeps API key records (hashes, never keys) in PostgreSQL
// or SQLite through database/sql, as an apikeys.Store.
//
// The caller opens the database with the driver of its choice and names the
// dialect; the two differ in placeholders ("$1" against "?") and column types
// (UUID, BYTEA and TIMESTAMPTZ in PostgreSQL; TEXT, BLOB and INTEGER Unix
// microseconds in SQLite), and Schema shows the DDL for each.
//
//	import _ "modernc.org/sqlite" // or _ "github.com/jackc/pgx/v5/stdlib" with sqlstore.Postgres
//
//	db, err := sql.Open("sqlite", "file:keys.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate")
//	if err != nil { ... }
//	store, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.SQLite})
//	if err != nil { ... }
//	if err := store.Migrate(ctx); err != nil { ... } // CREATE TABLE IF NOT EXISTS ...
//	keys, err := apikeys.New(apikeys.Config{Store: store})
//
// For SQLite, the busy timeout and immediate transactions in the DSN above
// make concurrent writers (rotations, last-used flushes from several
// goroutines) wait for each other instead of failing with SQLITE_BUSY.
//
// Rotation runs in one transaction: the successor is inserted and the old
// record is marked only if it is still live and not yet replaced, so of two
// concurrent rotations of the same key exactly one wins. Duplicate ids are
// detected with INSERT ... ON CONFLICT DO NOTHING, which both databases
// understand, so no driver-specific error codes are needed.
package sqlstore
