package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"

	_ "modernc.org/sqlite"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/apikeys/sqlstore"
)

func ExampleNew() {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:example?mode=memory&_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		panic(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // an in-memory SQLite database lives in one connection

	store, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.SQLite})
	if err != nil {
		panic(err)
	}
	if err := store.Migrate(ctx); err != nil {
		panic(err)
	}
	keys, err := apikeys.New(apikeys.Config{Store: store, AllowNoExpiry: true})
	if err != nil {
		panic(err)
	}
	issued, err := keys.Issue(ctx, apikeys.IssueOptions{Name: "example"})
	if err != nil {
		panic(err)
	}
	res, err := keys.Verify(ctx, issued.Key.Format())
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Reason, res.Identity.Name)
	// Output: valid example
}
