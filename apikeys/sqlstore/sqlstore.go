package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
)

// Dialect selects the SQL spelling: placeholders, column types and how
// times are stored.
type Dialect int

const (
	// SQLite (modernc.org/sqlite, driver name "sqlite"): "?" placeholders,
	// BLOB hashes, TEXT UUIDs, times as INTEGER Unix microseconds (SQLite has
	// no time type; integers sort and compare exactly).
	SQLite Dialect = iota + 1
	// Postgres (github.com/jackc/pgx/v5/stdlib, driver name "pgx"): "$n"
	// placeholders, BYTEA hashes, UUID and TIMESTAMPTZ columns.
	Postgres
)

// String returns "sqlite" or "postgres".
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return "unknown(" + strconv.Itoa(int(d)) + ")"
}

// DefaultTable is the table name used when Config.Table is empty.
const DefaultTable = "apikeys"

// Config configures a Store.
type Config struct {
	// Dialect of the database behind the *sql.DB. Required: it is not
	// guessed from the driver.
	Dialect Dialect
	// Table holds the records. An identifier of letters, digits and
	// underscores, at most 50 characters. Default DefaultTable. Indexes are
	// named after it.
	Table string
}

// Store is an apikeys.Store on database/sql. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect Dialect
	table   string
	q       queries
}

var _ apikeys.Store = (*Store)(nil)

type queries struct {
	insert, get, revoke, exists, rotateMark, rotateWhy, touch, list, suspend string
}

// columns in scan order; see scanRecord.
const columns = `id, prefix, hash, name, client_id, customer_uuid, project_uuid, offering_uuid, resource_uuid,
scopes, metadata, rate_per_second, rate_burst, created_at, expires_at, revoked_at, last_used_at,
rotated_from, replaced_by, grace_until, suspended_at`

// New returns a Store on db. It does not touch the database; call Migrate
// to create the table.
func New(db *sql.DB, cfg Config) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil *sql.DB")
	}
	if cfg.Dialect != SQLite && cfg.Dialect != Postgres {
		return nil, errors.New("sqlstore: Config.Dialect must be SQLite or Postgres")
	}
	if cfg.Table == "" {
		cfg.Table = DefaultTable
	}
	if !validIdent(cfg.Table) {
		return nil, fmt.Errorf("sqlstore: invalid table name %q", cfg.Table)
	}
	s := &Store{db: db, dialect: cfg.Dialect, table: cfg.Table}
	t := `"` + cfg.Table + `"`
	s.q = queries{
		insert: `INSERT INTO ` + t + ` (` + columns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING`,
		get:        `SELECT ` + columns + ` FROM ` + t + ` WHERE id = ?`,
		revoke:     `UPDATE ` + t + ` SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`,
		exists:     `SELECT 1 FROM ` + t + ` WHERE id = ?`,
		rotateMark: `UPDATE ` + t + ` SET replaced_by = ?, grace_until = ? WHERE id = ? AND replaced_by = '' AND revoked_at IS NULL`,
		rotateWhy:  `SELECT revoked_at IS NOT NULL, replaced_by <> '' FROM ` + t + ` WHERE id = ?`,
		touch:      `UPDATE ` + t + ` SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`,
		list:       `SELECT ` + columns + ` FROM ` + t,
		suspend:    `UPDATE ` + t + ` SET suspended_at = ? WHERE id = ?`,
	}
	for _, p := range []*string{&s.q.insert, &s.q.get, &s.q.revoke, &s.q.exists, &s.q.rotateMark, &s.q.rotateWhy, &s.q.touch, &s.q.suspend} {
		*p = s.rebind(*p)
	}
	return s, nil
}

// validIdent accepts [A-Za-z_][A-Za-z0-9_]{0,49}: safe to quote and to use
// as a prefix of index names in both dialects.
func validIdent(s string) bool {
	if len(s) == 0 || len(s) > 50 || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Schema returns the DDL that creates the table, for review or for an
// external migration tool. Every statement is idempotent. A table made by
// an older release lacks columns added since; Migrate adds them (see
// Upgrades).
func (s *Store) Schema() []string {
	bytes, uid, ts, real := "BLOB", "TEXT", "INTEGER", "REAL"
	if s.dialect == Postgres {
		bytes, uid, ts, real = "BYTEA", "UUID", "TIMESTAMPTZ", "DOUBLE PRECISION"
	}
	t := `"` + s.table + `"`
	return []string{
		`CREATE TABLE IF NOT EXISTS ` + t + ` (
	id              TEXT PRIMARY KEY,
	prefix          TEXT NOT NULL,
	hash            ` + bytes + ` NOT NULL,
	name            TEXT NOT NULL DEFAULT '',
	client_id       TEXT NOT NULL DEFAULT '',
	customer_uuid   ` + uid + `,
	project_uuid    ` + uid + `,
	offering_uuid   ` + uid + `,
	resource_uuid   ` + uid + `,
	scopes          TEXT NOT NULL DEFAULT '[]',
	metadata        TEXT NOT NULL DEFAULT '{}',
	rate_per_second ` + real + ` NOT NULL DEFAULT 0,
	rate_burst      INTEGER NOT NULL DEFAULT 0,
	created_at      ` + ts + ` NOT NULL,
	expires_at      ` + ts + `,
	revoked_at      ` + ts + `,
	last_used_at    ` + ts + `,
	rotated_from    TEXT NOT NULL DEFAULT '',
	replaced_by     TEXT NOT NULL DEFAULT '',
	grace_until     ` + ts + `,
	suspended_at    ` + ts + `
)`,
		`CREATE INDEX IF NOT EXISTS "` + s.table + `_project_idx" ON ` + t + ` (project_uuid)`,
		`CREATE INDEX IF NOT EXISTS "` + s.table + `_resource_idx" ON ` + t + ` (resource_uuid)`,
	}
}

// addedColumns are the columns added after the first release, with their
// types per dialect, oldest first.
var addedColumns = []struct{ name, sqlite, postgres string }{
	{"suspended_at", "INTEGER", "TIMESTAMPTZ"}, // Manager.Suspend
}

// Upgrades returns the DDL that adds the columns a table made by an older
// release lacks. The PostgreSQL statements are idempotent; SQLite has no
// ADD COLUMN IF NOT EXISTS, so Migrate runs each of its statements only when
// the column is missing.
func (s *Store) Upgrades() []string {
	var out []string
	for _, c := range addedColumns {
		if s.dialect == Postgres {
			out = append(out, `ALTER TABLE "`+s.table+`" ADD COLUMN IF NOT EXISTS `+c.name+` `+c.postgres)
		} else {
			out = append(out, `ALTER TABLE "`+s.table+`" ADD COLUMN `+c.name+` `+c.sqlite)
		}
	}
	return out
}

// Migrate creates the table and its indexes if they do not exist, and adds
// the columns that a table made by an older release lacks.
func (s *Store) Migrate(ctx context.Context) error {
	for _, stmt := range s.Schema() {
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("sqlstore: migrate %s: %w", s.table, err)
		}
	}
	for i, stmt := range s.Upgrades() {
		if s.dialect == SQLite {
			has, err := s.hasColumn(ctx, addedColumns[i].name)
			if err != nil {
				return fmt.Errorf("sqlstore: migrate %s: %w", s.table, err)
			}
			if has {
				continue
			}
		}
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("sqlstore: migrate %s: add column %s: %w", s.table, addedColumns[i].name, err)
		}
	}
	return nil
}

// hasColumn reports whether the SQLite table has the column.
func (s *Store) hasColumn(ctx context.Context, name string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`, s.table, name).Scan(&n)
	return n > 0, err
}

// rebind turns "?" placeholders into "$1", "$2", ... for PostgreSQL. The
// queries are this package's own and hold no literal question marks.
func (s *Store) rebind(q string) string {
	if s.dialect != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// timeArg converts t for the dialect; the zero time is NULL. Times are cut to
// microseconds in both dialects so that they compare equal after a round trip.
func (s *Store) timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	t = t.Truncate(time.Microsecond)
	if s.dialect == SQLite {
		return t.UnixMicro()
	}
	return t.UTC()
}

func uuidArg(u uuid.UUID) any {
	if u == uuid.Nil {
		return nil
	}
	return u.String()
}

// Create implements apikeys.Store.
func (s *Store) Create(ctx context.Context, rec apikeys.Record) error {
	args, err := s.recordArgs(&rec)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, s.q.insert, args...)
	if err != nil {
		return fmt.Errorf("sqlstore: create %s: %w", rec.ID, err)
	}
	return duplicateIfNone(res, rec.ID)
}

func duplicateIfNone(res sql.Result, id string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: create %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: create %s: %w", id, apikeys.ErrDuplicate)
	}
	return nil
}

func (s *Store) recordArgs(r *apikeys.Record) ([]any, error) {
	scopes := r.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	sc, err := json.Marshal(scopes)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: encode scopes: %w", err)
	}
	md := []byte("{}")
	if len(r.Metadata) > 0 {
		if md, err = json.Marshal(r.Metadata); err != nil {
			return nil, fmt.Errorf("sqlstore: encode metadata: %w", err)
		}
	}
	b := r.Binding
	return []any{
		r.ID, r.Prefix, r.Hash, r.Name, r.ClientID,
		uuidArg(b.CustomerUUID), uuidArg(b.ProjectUUID), uuidArg(b.OfferingUUID), uuidArg(b.ResourceUUID),
		string(sc), string(md), r.RateLimit.PerSecond, r.RateLimit.Burst,
		s.timeArg(r.CreatedAt), s.timeArg(r.ExpiresAt), s.timeArg(r.RevokedAt), s.timeArg(r.LastUsedAt),
		r.RotatedFrom, r.ReplacedBy, s.timeArg(r.GraceUntil), s.timeArg(r.SuspendedAt),
	}, nil
}

// dbTime scans a nullable time column of either dialect.
type dbTime struct {
	dialect Dialect
	t       *time.Time
}

func (d dbTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*d.t = time.Time{}
	case time.Time:
		*d.t = x.UTC()
	case int64:
		*d.t = time.UnixMicro(x).UTC()
	default:
		return fmt.Errorf("sqlstore: unexpected %T in a time column", v)
	}
	return nil
}

// dbUUID scans a nullable UUID column (text in SQLite, uuid in PostgreSQL).
type dbUUID struct{ u *uuid.UUID }

func (d dbUUID) Scan(v any) error {
	if v == nil {
		*d.u = uuid.Nil
		return nil
	}
	return d.u.Scan(v)
}

type rowScanner interface{ Scan(...any) error }

func (s *Store) scanRecord(row rowScanner) (apikeys.Record, error) {
	var (
		r          apikeys.Record
		sc, md     string
		b          = &r.Binding
		tm         = func(t *time.Time) dbTime { return dbTime{s.dialect, t} }
		hash       []byte
		ratePerSec float64
		rateBurst  int64
	)
	err := row.Scan(&r.ID, &r.Prefix, &hash, &r.Name, &r.ClientID,
		dbUUID{&b.CustomerUUID}, dbUUID{&b.ProjectUUID}, dbUUID{&b.OfferingUUID}, dbUUID{&b.ResourceUUID},
		&sc, &md, &ratePerSec, &rateBurst,
		tm(&r.CreatedAt), tm(&r.ExpiresAt), tm(&r.RevokedAt), tm(&r.LastUsedAt),
		&r.RotatedFrom, &r.ReplacedBy, tm(&r.GraceUntil), tm(&r.SuspendedAt))
	if err != nil {
		return apikeys.Record{}, err
	}
	r.Hash = hash
	r.RateLimit = apikeys.RateLimit{PerSecond: ratePerSec, Burst: int(rateBurst)}
	if err := json.Unmarshal([]byte(sc), &r.Scopes); err != nil {
		return apikeys.Record{}, fmt.Errorf("sqlstore: decode scopes of %s: %w", r.ID, err)
	}
	if len(r.Scopes) == 0 {
		r.Scopes = nil
	}
	if md != "{}" && md != "" {
		if err := json.Unmarshal([]byte(md), &r.Metadata); err != nil {
			return apikeys.Record{}, fmt.Errorf("sqlstore: decode metadata of %s: %w", r.ID, err)
		}
	}
	return r, nil
}

// Get implements apikeys.Store.
func (s *Store) Get(ctx context.Context, id string) (apikeys.Record, error) {
	r, err := s.scanRecord(s.db.QueryRowContext(ctx, s.q.get, id))
	if errors.Is(err, sql.ErrNoRows) {
		return apikeys.Record{}, apikeys.ErrNotFound
	}
	if err != nil {
		return apikeys.Record{}, fmt.Errorf("sqlstore: get %s: %w", id, err)
	}
	return r, nil
}

// List implements apikeys.Store.
func (s *Store) List(ctx context.Context, f apikeys.Filter) ([]apikeys.Record, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.ProjectUUID != uuid.Nil {
		add("project_uuid = ?", f.ProjectUUID.String())
	}
	if f.ResourceUUID != uuid.Nil {
		add("resource_uuid = ?", f.ResourceUUID.String())
	}
	if f.OfferingUUID != uuid.Nil {
		add("offering_uuid = ?", f.OfferingUUID.String())
	}
	if f.ClientID != "" {
		add("client_id = ?", f.ClientID)
	}
	q := s.q.list
	if !f.IncludeRevoked {
		where = append(where, "revoked_at IS NULL")
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q = s.rebind(q + " ORDER BY created_at, id")
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list: %w", err)
	}
	defer rows.Close()
	var out []apikeys.Record
	for rows.Next() {
		r, err := s.scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list: %w", err)
	}
	return out, nil
}

// Revoke implements apikeys.Store.
func (s *Store) Revoke(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q.revoke, s.timeArg(at), id)
	if err != nil {
		return fmt.Errorf("sqlstore: revoke %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	var one int
	switch err := s.db.QueryRowContext(ctx, s.q.exists, id).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return apikeys.ErrNotFound
	case err != nil:
		return fmt.Errorf("sqlstore: revoke %s: %w", id, err)
	}
	return nil // already revoked: keep the first time
}

// Rotate implements apikeys.Store in one transaction: insert the successor,
// then mark the old record only if it is still live and not replaced.
func (s *Store) Rotate(ctx context.Context, oldID string, next apikeys.Record, graceUntil time.Time) (err error) {
	args, err := s.recordArgs(&next)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: rotate %s: %w", oldID, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	res, err := tx.ExecContext(ctx, s.q.insert, args...)
	if err != nil {
		return fmt.Errorf("sqlstore: rotate %s: insert successor: %w", oldID, err)
	}
	if err := duplicateIfNone(res, next.ID); err != nil {
		return err
	}
	res, err = tx.ExecContext(ctx, s.q.rotateMark, next.ID, s.timeArg(graceUntil), oldID)
	if err != nil {
		return fmt.Errorf("sqlstore: rotate %s: %w", oldID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: rotate %s: %w", oldID, err)
	}
	if n == 0 {
		var revoked, replaced bool
		switch err := tx.QueryRowContext(ctx, s.q.rotateWhy, oldID).Scan(&revoked, &replaced); {
		case errors.Is(err, sql.ErrNoRows):
			return apikeys.ErrNotFound
		case err != nil:
			return fmt.Errorf("sqlstore: rotate %s: %w", oldID, err)
		case revoked:
			return apikeys.ErrRevoked
		default:
			return apikeys.ErrRotated
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: rotate %s: commit: %w", oldID, err)
	}
	return nil
}

// TouchLastUsed implements apikeys.Store with one prepared update per key in
// a single transaction.
func (s *Store) TouchLastUsed(ctx context.Context, used map[string]time.Time) (err error) {
	if len(used) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: touch last used: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	stmt, err := tx.PrepareContext(ctx, s.q.touch)
	if err != nil {
		return fmt.Errorf("sqlstore: touch last used: %w", err)
	}
	defer stmt.Close()
	for id, t := range used {
		ta := s.timeArg(t)
		if _, err := stmt.ExecContext(ctx, ta, id, ta); err != nil {
			return fmt.Errorf("sqlstore: touch last used of %s: %w", id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: touch last used: commit: %w", err)
	}
	return nil
}

// SetSuspended implements apikeys.Store.
func (s *Store) SetSuspended(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q.suspend, s.timeArg(at), id)
	if err != nil {
		return fmt.Errorf("sqlstore: set suspended %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: set suspended %s: %w", id, err)
	}
	if n == 0 {
		return apikeys.ErrNotFound
	}
	return nil
}
