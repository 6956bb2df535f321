package waldur

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseUUID(t *testing.T) {
	want := UUID{0x5d, 0x0f, 0x0a, 0x8c, 0x2a, 0x7e, 0x4b, 0x51, 0xa1, 0xf3, 0xc6, 0xd7, 0xe8, 0xf9, 0x0a, 0x12}
	for _, in := range []string{
		"5d0f0a8c2a7e4b51a1f3c6d7e8f90a12",
		"5D0F0A8C2A7E4B51A1F3C6D7E8F90A12",
		"5d0f0a8c-2a7e-4b51-a1f3-c6d7e8f90a12",
	} {
		got, err := ParseUUID(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	assert.Equal(t, "5d0f0a8c2a7e4b51a1f3c6d7e8f90a12", Hex(want))
	for _, in := range []string{"", "5d0f", "urn:uuid:5d0f0a8c-2a7e-4b51-a1f3-c6d7e8f90a12", "{5d0f0a8c-2a7e-4b51-a1f3-c6d7e8f90a12}", "5d0f0a8c2a7e4b51a1f3c6d7e8f90a1z", strings.Repeat("a", 1000)} {
		_, err := ParseUUID(in)
		assert.Error(t, err, in)
		if err != nil {
			assert.Less(t, len(err.Error()), 200, "long input is truncated in the error")
		}
	}
}

func FuzzParseUUID(f *testing.F) {
	f.Add("5d0f0a8c2a7e4b51a1f3c6d7e8f90a12")
	f.Add("5d0f0a8c-2a7e-4b51-a1f3-c6d7e8f90a12")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseUUID(s)
		if err != nil {
			return
		}
		if !strings.EqualFold(strings.ReplaceAll(s, "-", ""), Hex(u)) {
			t.Fatalf("ParseUUID(%q) = %s", s, Hex(u))
		}
		back, err := ParseUUID(Hex(u))
		if err != nil || back != u {
			t.Fatalf("Hex round trip of %q failed: %v", s, err)
		}
	})
}
