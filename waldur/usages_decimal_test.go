package waldur_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// Waldur's schema declares a component usage's usage an integer, while a DRF
// DecimalField renders it as a string: the client reads both.
func TestUsagesListReadsDecimalStringsAndNumbers(t *testing.T) {
	tests := []struct {
		raw  string
		want float64
	}{
		{`12.25`, 12.25},
		{`"12.25"`, 12.25},
		{`" 7.00 "`, 7},
		{`3`, 3},
		{`"-1.5"`, -1.5},
		{`null`, 0},
		{`""`, 0},
		{`"twelve"`, 0}, // undecodable: left zero and logged, the rest of the record kept
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			c, w := newWire(t)
			w.body = `[{"uuid": "1f2e3d4c5b6a798897a6b5c4d3e2f100", "type": "cpu", "usage": ` + tt.raw + `, "billing_period": "2026-08-01"}]`
			var got []waldur.ComponentUsage
			for u, err := range c.Usages.List(context.Background(), waldur.ListUsagesOptions{ResourceUUID: resourceID}) {
				require.NoError(t, err)
				got = append(got, u)
			}
			require.Len(t, got, 1)
			assert.Equal(t, tt.want, got[0].Usage)
			assert.Equal(t, "cpu", got[0].Type)
			assert.Equal(t, "2026-08-01", got[0].BillingPeriod.String())
		})
	}
}

// FuzzUsagesListDecode feeds arbitrary usage values through the list decoder:
// it must never fail the list for a bad value, nor panic.
func FuzzUsagesListDecode(f *testing.F) {
	for _, s := range []string{`1`, `"2.50"`, `null`, `""`, `"x"`, `{}`, `[1]`, `1e400`, `"NaN"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if !json.Valid([]byte(raw)) {
			t.Skip()
		}
		c, w := newWire(t)
		w.body = `[{"type": "cpu", "usage": ` + raw + `}]`
		n := 0
		for u, err := range c.Usages.List(context.Background(), waldur.ListUsagesOptions{}) {
			if err != nil {
				t.Fatalf("usage %s failed the list: %v", raw, err)
			}
			assert.Equal(t, "cpu", u.Type)
			n++
		}
		assert.Equal(t, 1, n)
	})
}
