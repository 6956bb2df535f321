package waldurtest

import (
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHexUUIDs(t *testing.T) {
	id := uuid.MustParse("0e4b7c2d-9f1a-4e3b-8c6d-5a4f3e2d1c0b")
	in := map[string]any{"uuid": id, "list": []any{id.String(), "not-a-uuid"}, "text": "x " + id.String()}
	var out map[string]any
	require.NoError(t, json.Unmarshal(marshal(in), &out))
	assert.Equal(t, "0e4b7c2d9f1a4e3b8c6d5a4f3e2d1c0b", out["uuid"])
	assert.Equal(t, []any{"0e4b7c2d9f1a4e3b8c6d5a4f3e2d1c0b", "not-a-uuid"}, out["list"])
	assert.Equal(t, "x "+id.String(), out["text"], "only whole strings are UUIDs")
}

// FuzzHexUUIDs checks that rewriting UUIDs keeps any JSON document valid and
// equal apart from the rewritten strings.
func FuzzHexUUIDs(f *testing.F) {
	f.Add([]byte(`{"a":"0e4b7c2d-9f1a-4e3b-8c6d-5a4f3e2d1c0b","b":["0e4b7c2d-9f1a-4e3b-8c6d-5a4f3e2d1c0b"]}`))
	f.Add([]byte(`"0e4b7c2d-9f1a-4e3b-8c6d-5a4f3e2d1c0b"`))
	f.Add([]byte(`{"s":"\"0e4b7c2d-9f1a-4e3b-8c6d-5a4f3e2d1c0b\""}`))
	f.Add([]byte(`["ab\"0e4b7c2d-9f1a-4e3b-8c6d-5a4f3e2d1c0b"]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		if !json.Valid(in) {
			return
		}
		out := hexUUIDs(append([]byte(nil), in...))
		if !json.Valid(out) {
			t.Fatalf("%s became invalid: %s", in, out)
		}
		var a, b any
		_ = json.Unmarshal(in, &a)
		_ = json.Unmarshal(out, &b)
		if !sameModuloUUIDs(a, b) {
			t.Fatalf("%s changed beyond UUIDs: %s", in, out)
		}
	})
}

func sameModuloUUIDs(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if !sameModuloUUIDs(v, y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameModuloUUIDs(x[i], y[i]) {
				return false
			}
		}
		return true
	case string:
		y, ok := b.(string)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		u1, e1 := uuid.Parse(x)
		u2, e2 := uuid.Parse(y)
		return e1 == nil && e2 == nil && u1 == u2
	default:
		return a == b
	}
}
