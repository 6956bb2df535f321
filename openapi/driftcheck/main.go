// Command driftcheck compares this module's OpenAPI description of the Waldur API
// with the full schema of a Waldur release or a live server, and lists every
// operation, parameter, status, field, type, format and enum value of ours that the
// server lacks or types differently. It exits 1 when it finds such an error.
//
//	go run ./openapi/driftcheck -schema https://waldur.example.org/api/schema/
//	go run ./openapi/driftcheck -schema waldur-openapi-8.0.5.yaml -ours openapi/waldur.yaml
//
// A URL is fetched with "Authorization: Token <key>" when -token or the environment
// variable WALDUR_API_TOKEN gives a key. Items of ours marked x-waldur-since newer
// than the server's info.version, or x-waldur-drift-ignore, are printed as notes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/gsv-platform/waldur-agent-go/openapi/driftcheck/internal/drift"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit code (0 clean, 1 drift found,
// 2 usage or load failure).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("driftcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	schema := fs.String("schema", "", "Waldur's full OpenAPI schema: a file or a URL such as https://HOST/api/schema/ (required)")
	ours := fs.String("ours", "openapi/waldur.yaml", "our OpenAPI description")
	token := fs.String("token", "", "API token for a -schema URL (default $WALDUR_API_TOKEN)")
	quiet := fs.Bool("q", false, "print errors only, not notes")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *schema == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: driftcheck -schema FILE_OR_URL [-ours openapi/waldur.yaml] [-token KEY] [-q]")
		return 2
	}
	if *token == "" {
		*token = getenv("WALDUR_API_TOKEN")
	}

	start := time.Now()
	ourDoc, err := drift.Load(ctx, *ours, drift.LoadOptions{})
	if err != nil {
		fmt.Fprintln(stderr, "driftcheck:", err)
		return 2
	}
	serverDoc, err := drift.Load(ctx, *schema, drift.LoadOptions{Token: *token})
	if err != nil {
		fmt.Fprintln(stderr, "driftcheck:", err)
		return 2
	}
	report := drift.Compare(ourDoc, serverDoc)
	elapsed := time.Since(start)

	for _, f := range report.Findings {
		if *quiet && f.Severity != drift.SeverityError {
			continue
		}
		fmt.Fprintln(stdout, f)
	}
	fmt.Fprintf(stdout, "driftcheck: %d errors, %d notes: %d operations of ours against Waldur %s (%d paths) in %s\n",
		report.Errors(), report.Notes(), report.Operations, report.ServerVersion, serverDoc.Paths.Len(),
		elapsed.Round(time.Millisecond))
	if report.Errors() > 0 {
		return 1
	}
	return 0
}
