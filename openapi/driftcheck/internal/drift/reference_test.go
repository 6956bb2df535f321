package drift

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repoRoot walks up from the test's working directory to the directory with go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "no go.mod above the test directory")
		dir = parent
	}
}

// referencePath is Waldur's published 8.0.5 schema: $WALDUR_REFERENCE_SCHEMA, or
// ../shared/waldur/openapi-8.0.5.yaml beside the repository. Tests skip without it.
func referencePath(t testing.TB) string {
	t.Helper()
	p := os.Getenv("WALDUR_REFERENCE_SCHEMA")
	if p == "" {
		p = filepath.Join(repoRoot(t), "..", "shared", "waldur", "openapi-8.0.5.yaml")
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("Waldur reference schema not found at %s; set WALDUR_REFERENCE_SCHEMA to its path", p)
	}
	return p
}

func loadOurs(t testing.TB) *openapi3.T {
	t.Helper()
	doc, err := Load(context.Background(), filepath.Join(repoRoot(t), "openapi", "waldur.yaml"), LoadOptions{})
	require.NoError(t, err)
	return doc
}

// The reference is large; load it once for all tests that read it unchanged.
var reference struct {
	once sync.Once
	doc  *openapi3.T
	err  error
}

func loadReference(t testing.TB) *openapi3.T {
	t.Helper()
	path := referencePath(t)
	reference.once.Do(func() {
		reference.doc, reference.err = Load(context.Background(), path, LoadOptions{})
	})
	require.NoError(t, reference.err)
	return reference.doc
}

func TestOursMatchesWaldur805(t *testing.T) {
	ours := loadOurs(t)
	report := Compare(ours, loadReference(t))

	for _, f := range report.Findings {
		if f.Severity == SeverityError {
			t.Errorf("%s", f)
		}
	}
	assert.Equal(t, "8.0.5", report.ServerVersion)
	assert.Equal(t, countOperations(ours), report.Operations, "every operation of ours is compared")
	// The 8.1 additions must show up as notes, not vanish.
	assert.Contains(t, findingStrings(report), "note: POST /api/marketplace-site-agent-identities/{uuid}/register_queue/ "+
		"(marketplace_site_agent_identities_register_queue): operation missing from server schema; ours marks it since 8.1, server is 8.0.5")
}

func TestRenamedFieldInWaldurSchemaFails(t *testing.T) {
	// A private copy: the mutation must not leak into other tests.
	server, err := Load(context.Background(), referencePath(t), LoadOptions{})
	require.NoError(t, err)
	props := server.Components.Schemas["OrderDetails"].Value.Properties
	require.Contains(t, props, "marketplace_resource_uuid")
	props["marketplace_resource_uuid_renamed"] = props["marketplace_resource_uuid"]
	delete(props, "marketplace_resource_uuid")

	report := Compare(loadOurs(t), server)
	require.Positive(t, report.Errors())
	assert.Contains(t, findingStrings(report), "error: GET /api/marketplace-orders/ (marketplace_orders_list): "+
		"response 200 body[].marketplace_resource_uuid: field missing from server schema")
	for _, f := range report.Findings {
		if f.Severity == SeverityError {
			assert.Contains(t, f.Location, "marketplace_resource_uuid", "only the renamed field fails: %s", f)
		}
	}
}

// operation81 is one line of operations-8.1.2.txt.
type operation81 struct {
	method, path string
	isNew        bool
}

func loadOperations812(t *testing.T) map[string]operation81 {
	t.Helper()
	path := filepath.Join(filepath.Dir(referencePath(t)), "operations-8.1.2.txt")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("Waldur 8.1.2 operation list not found beside the reference schema: %v", err)
	}
	defer f.Close()
	ops := map[string]operation81{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		require.GreaterOrEqual(t, len(fields), 3, "malformed line %q", line)
		ops[fields[0]] = operation81{method: fields[1], path: fields[2], isNew: strings.Contains(line, "[new]")}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, ops)
	return ops
}

func TestSinceMarksAgreeWithWaldurReleases(t *testing.T) {
	ours := loadOurs(t)
	ops812 := loadOperations812(t)
	ref := loadReference(t)

	for _, path := range ours.Paths.Keys() {
		for method, op := range ours.Paths.Value(path).Operations() {
			since := extString(op.Extensions, extSince)
			assert.Contains(t, []string{"", "8.1", "8.2"}, since, "%s: unexpected x-waldur-since", op.OperationID)

			in812, ok := ops812[op.OperationID]
			if newerThan(since, "8.1.2") {
				// Read in Waldur's server code after 8.1.2's schema.
				assert.False(t, ok, "%s is marked since %s but 8.1.2 has it", op.OperationID, since)
			} else if assert.True(t, ok, "%s is not in Waldur 8.1.2", op.OperationID) {
				assert.Equal(t, method+" "+normalisePath(path), in812.method+" "+normalisePath(in812.path), op.OperationID)
				assert.Equal(t, since == "8.1", in812.isNew, "%s: x-waldur-since %q, but 8.1.2 lists it new=%t", op.OperationID, since, in812.isNew)
			}

			var inRef *openapi3.Operation
			if item := ref.Paths.Find(path); item != nil {
				inRef = item.GetOperation(method)
			}
			if since == "" {
				if assert.NotNil(t, inRef, "%s %s (%s) has no x-waldur-since but is not in 8.0.5", method, path, op.OperationID) {
					assert.Equal(t, op.OperationID, inRef.OperationID)
				}
			} else {
				assert.Nil(t, inRef, "%s is marked since %s but 8.0.5 has it", op.OperationID, since)
			}
		}
	}
}

func BenchmarkCompareWithWaldur805(b *testing.B) {
	ours := loadOurs(b)
	server := loadReference(b)
	b.ResetTimer()
	for b.Loop() {
		Compare(ours, server)
	}
}

func BenchmarkLoadWaldur805(b *testing.B) {
	path := referencePath(b)
	for b.Loop() {
		_, err := Load(context.Background(), path, LoadOptions{})
		require.NoError(b, err)
	}
}

func countOperations(doc *openapi3.T) int {
	n := 0
	for _, item := range doc.Paths.Map() {
		n += len(item.Operations())
	}
	return n
}

func findingStrings(r Report) []string {
	out := make([]string, len(r.Findings))
	for i, f := range r.Findings {
		out[i] = f.String()
	}
	return out
}
