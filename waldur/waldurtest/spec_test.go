package waldurtest_test

import (
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

type specOperation struct {
	method, path, id string
}

// specOperations reads every operation of the project's OpenAPI description.
func specOperations(t *testing.T) []specOperation {
	t.Helper()
	data, err := os.ReadFile("../../openapi/waldur.yaml")
	require.NoError(t, err)
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `yaml:"operationId"`
		} `yaml:"paths"`
	}
	require.NoError(t, yaml.Unmarshal(data, &doc))
	var ops []specOperation
	for path, item := range doc.Paths {
		for method, op := range item {
			switch method {
			case "get", "put", "post", "delete", "patch", "head":
				require.NotEmpty(t, op.OperationID, "%s %s has no operationId", method, path)
				ops = append(ops, specOperation{strings.ToUpper(method), path, op.OperationID})
			}
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].id < ops[j].id })
	require.NotEmpty(t, ops)
	return ops
}

// TestEverySpecOperationIsServed calls each operation of openapi/waldur.yaml
// and checks that the server routed it to the handler of that operation.
// Unknown objects may answer 404 "Not found." and empty bodies 400; what must
// not happen is the router failing to recognise the method and path.
func TestEverySpecOperationIsServed(t *testing.T) {
	s := waldurtest.NewServer(t)
	for _, op := range specOperations(t) {
		t.Run(op.id, func(t *testing.T) {
			path := strings.ReplaceAll(op.path, "{uuid}", hex(uuid.New()))
			require.NotContains(t, path, "{", "a path parameter the test does not know")
			s.ResetCalls()
			r := call(t, s, op.method, path, []byte("{}"))
			calls := s.Calls()
			require.Len(t, calls, 1)
			assert.Equal(t, op.id, calls[0].OperationID, "routed to the wrong operation")
			assert.NotEqual(t, 405, r.status)
			assert.Less(t, r.status, 500, "body: %s", r.body)
			if r.status == 404 {
				assert.Contains(t, op.path, "{uuid}", "only an unknown object may be missing")
				if op.method != "HEAD" {
					assert.JSONEq(t, `{"detail":"Not found."}`, string(r.body))
				}
			}
		})
	}
}
