package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	_ "modernc.org/sqlite"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/apikeys/sqlstore"
	"github.com/gsv-platform/waldur-agent-go/apikeys/storetest"
	"github.com/gsv-platform/waldur-agent-go/internal/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sqliteDSN is how the package documentation tells users to open SQLite:
// a busy timeout and immediate transactions, so concurrent writers queue
// instead of failing.
func sqliteDSN(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate"
}

func openSQLite(t testing.TB) (*sql.DB, *sqlstore.Store) {
	t.Helper()
	db, err := sql.Open("sqlite", sqliteDSN(filepath.Join(t.TempDir(), "keys.db")))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	s, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.SQLite})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(context.Background()))
	return db, s
}

// openPostgres creates a table with a unique name, dropped when t ends, so
// parallel and repeated runs never meet.
func openPostgres(t testing.TB) (*sql.DB, *sqlstore.Store, string) {
	t.Helper()
	dsn := testenv.PostgresDSN(t)
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	var b [6]byte
	_, _ = rand.Read(b[:])
	table := "apikeys_test_" + hex.EncodeToString(b[:])
	s, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.Postgres, Table: table})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(context.Background()))
	t.Cleanup(func() {
		_, err := db.ExecContext(context.Background(), `DROP TABLE IF EXISTS "`+table+`"`)
		assert.NoError(t, err)
	})
	return db, s, table
}

// dumpTable renders every column of every row, bytes as they are stored.
func dumpTable(t *testing.T, db *sql.DB, table string) []byte {
	t.Helper()
	rows, err := db.Query(`SELECT * FROM "` + table + `"`)
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var out []byte
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		for _, v := range vals {
			if b, ok := v.([]byte); ok {
				out = append(out, b...)
			} else {
				out = fmt.Append(out, v)
			}
			out = append(out, '|')
		}
		out = append(out, '\n')
	}
	require.NoError(t, rows.Err())
	return out
}

func TestSQLite(t *testing.T) {
	dbs := map[apikeys.Store]*sql.DB{}
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T) apikeys.Store {
			db, s := openSQLite(t)
			dbs[s] = db
			return s
		},
		Dump: func(t *testing.T, s apikeys.Store) []byte { return dumpTable(t, dbs[s], sqlstore.DefaultTable) },
	})
}

func TestPostgres(t *testing.T) {
	type opened struct {
		db    *sql.DB
		table string
	}
	dbs := map[apikeys.Store]opened{}
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T) apikeys.Store {
			db, s, table := openPostgres(t)
			dbs[s] = opened{db, table}
			return s
		},
		Dump: func(t *testing.T, s apikeys.Store) []byte { return dumpTable(t, dbs[s].db, dbs[s].table) },
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	_, s := openSQLite(t)
	require.NoError(t, s.Migrate(context.Background()))
	t.Run("postgres", func(t *testing.T) {
		_, s, _ := openPostgres(t)
		require.NoError(t, s.Migrate(context.Background()))
	})
}

func TestSchemaPerDialect(t *testing.T) {
	db, err := sql.Open("sqlite", ":memory:")
	require.NoError(t, err)
	defer db.Close()
	lite, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.SQLite, Table: "k"})
	require.NoError(t, err)
	pg, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.Postgres, Table: "k"})
	require.NoError(t, err)
	ls, ps := strings.Join(lite.Schema(), ";"), strings.Join(pg.Schema(), ";")
	for _, want := range []string{"BLOB", "INTEGER", `CREATE TABLE IF NOT EXISTS "k"`, `"k_resource_idx"`} {
		assert.Contains(t, ls, want)
	}
	for _, want := range []string{"BYTEA", "UUID", "TIMESTAMPTZ", `"k_project_idx"`} {
		assert.Contains(t, ps, want)
	}
	assert.NotContains(t, ls, "TIMESTAMPTZ")
}

func TestNewRejectsBadConfig(t *testing.T) {
	db, err := sql.Open("sqlite", ":memory:")
	require.NoError(t, err)
	defer db.Close()
	tests := []struct {
		name string
		db   *sql.DB
		cfg  sqlstore.Config
	}{
		{"nil db", nil, sqlstore.Config{Dialect: sqlstore.SQLite}},
		{"no dialect", db, sqlstore.Config{}},
		{"unknown dialect", db, sqlstore.Config{Dialect: 9}},
		{"injection in table", db, sqlstore.Config{Dialect: sqlstore.SQLite, Table: `k"; DROP TABLE x; --`}},
		{"dotted table", db, sqlstore.Config{Dialect: sqlstore.SQLite, Table: "public.k"}},
		{"leading digit", db, sqlstore.Config{Dialect: sqlstore.SQLite, Table: "1k"}},
		{"too long", db, sqlstore.Config{Dialect: sqlstore.SQLite, Table: strings.Repeat("k", 51)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sqlstore.New(tt.db, tt.cfg)
			assert.Error(t, err)
		})
	}
}

// oldSchema is the table as the first release created it, before
// suspended_at.
func oldSchema(table string, postgres bool) string {
	bytes, uid, ts, real := "BLOB", "TEXT", "INTEGER", "REAL"
	if postgres {
		bytes, uid, ts, real = "BYTEA", "UUID", "TIMESTAMPTZ", "DOUBLE PRECISION"
	}
	return `CREATE TABLE "` + table + `" (
	id TEXT PRIMARY KEY, prefix TEXT NOT NULL, hash ` + bytes + ` NOT NULL,
	name TEXT NOT NULL DEFAULT '', client_id TEXT NOT NULL DEFAULT '',
	customer_uuid ` + uid + `, project_uuid ` + uid + `, offering_uuid ` + uid + `, resource_uuid ` + uid + `,
	scopes TEXT NOT NULL DEFAULT '[]', metadata TEXT NOT NULL DEFAULT '{}',
	rate_per_second ` + real + ` NOT NULL DEFAULT 0, rate_burst INTEGER NOT NULL DEFAULT 0,
	created_at ` + ts + ` NOT NULL, expires_at ` + ts + `, revoked_at ` + ts + `, last_used_at ` + ts + `,
	rotated_from TEXT NOT NULL DEFAULT '', replaced_by TEXT NOT NULL DEFAULT '', grace_until ` + ts + `)`
}

func TestMigrateUpgradesATableOfAnOlderRelease(t *testing.T) {
	check := func(t *testing.T, db *sql.DB, dialect sqlstore.Dialect, table string) {
		ctx := context.Background()
		_, err := db.ExecContext(ctx, oldSchema(table, dialect == sqlstore.Postgres))
		require.NoError(t, err)
		created := "1786700000000000"
		if dialect == sqlstore.Postgres {
			created = "'2026-08-14T09:30:00Z'"
		}
		_, err = db.ExecContext(ctx, `INSERT INTO "`+table+`" (id, prefix, hash, created_at) VALUES ('old1', 'wak', 'x', `+created+`)`)
		require.NoError(t, err)

		s, err := sqlstore.New(db, sqlstore.Config{Dialect: dialect, Table: table})
		require.NoError(t, err)
		require.NoError(t, s.Migrate(ctx))
		require.NoError(t, s.Migrate(ctx), "again: nothing left to add")
		got, err := s.Get(ctx, "old1")
		require.NoError(t, err, "rows of the old table are read")
		assert.True(t, got.SuspendedAt.IsZero())
		require.NoError(t, s.SetSuspended(ctx, "old1", time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)))
		got, err = s.Get(ctx, "old1")
		require.NoError(t, err)
		assert.Equal(t, 2026, got.SuspendedAt.Year())
	}
	t.Run("sqlite", func(t *testing.T) {
		db, err := sql.Open("sqlite", sqliteDSN(filepath.Join(t.TempDir(), "old.db")))
		require.NoError(t, err)
		defer db.Close()
		check(t, db, sqlstore.SQLite, "apikeys")
	})
	t.Run("postgres", func(t *testing.T) {
		db, _, table := openPostgres(t)
		_, err := db.ExecContext(context.Background(), `DROP TABLE "`+table+`"`)
		require.NoError(t, err)
		check(t, db, sqlstore.Postgres, table)
	})
}
