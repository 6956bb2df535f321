package apikeys_test

import (
	"testing"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/apikeys/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		New: func(*testing.T) apikeys.Store { return apikeys.NewMemoryStore() },
		Dump: func(_ *testing.T, s apikeys.Store) []byte {
			return apikeys.DumpMemoryStore(s.(*apikeys.MemoryStore))
		},
	})
}
