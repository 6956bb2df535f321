package mcp

import (
	"encoding/base64"
	"errors"
	"iter"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCursor(t *testing.T) {
	listing := listingKey("list_pending_orders", "", "Create")
	c := encodeCursor(listing, 40)
	n, err := decodeCursor(c, listing)
	require.NoError(t, err)
	assert.Equal(t, 40, n)

	n, err = decodeCursor("", listing)
	require.NoError(t, err)
	assert.Zero(t, n, "no cursor starts at the beginning")

	for name, bad := range map[string]string{
		"other filters":  encodeCursor(listingKey("list_pending_orders", "", "Update"), 40),
		"other tool":     encodeCursor(listingKey("list_resources", "", "Create"), 40),
		"zero offset":    encodeCursor(listing, 0),
		"huge offset":    encodeCursor(listing, maxOffset+1),
		"not base64":     "***",
		"wrong version":  "djJ8eHwx",
		"leading zero":   base64.RawURLEncoding.EncodeToString([]byte("v1|" + listing + "|040")),
		"too long input": string(make([]byte, maxCursorLen+1)),
	} {
		_, err := decodeCursor(bad, listing)
		assert.ErrorIs(t, err, errBadCursor, name)
	}
}

func seqOf(n int, failAt int) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		for i := range n {
			if i == failAt {
				yield(0, errors.New("boom"))
				return
			}
			if !yield(i, nil) {
				return
			}
		}
	}
}

func TestPage(t *testing.T) {
	id := func(p *int) int { return *p }
	tests := []struct {
		name     string
		n, limit int
		want     [][]int
	}{
		{"empty", 0, 2, [][]int{{}}},
		{"exact", 4, 2, [][]int{{0, 1}, {2, 3}}},
		{"remainder", 5, 2, [][]int{{0, 1}, {2, 3}, {4}}},
		{"one page", 3, 0, [][]int{{0, 1, 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cursor := ""
			for i, want := range tt.want {
				got, next, err := page(seqOf(tt.n, -1), PageInput{Limit: tt.limit, Cursor: cursor}, "k", id)
				require.NoError(t, err)
				assert.Equal(t, want, got, "page %d", i)
				if i == len(tt.want)-1 {
					assert.Empty(t, next, "the last page has no cursor")
				} else {
					require.NotEmpty(t, next)
				}
				cursor = next
			}
		})
	}
	_, _, err := page(seqOf(10, 3), PageInput{Limit: 2, Cursor: encodeCursor("k", 2)}, "k", id)
	assert.EqualError(t, err, "boom", "errors of the listing come through")
	_, _, err = page(seqOf(10, -1), PageInput{Limit: -1}, "k", id)
	assert.Error(t, err)
}

func TestConcatStopsEarly(t *testing.T) {
	opened := 0
	open := func() iter.Seq2[int, error] { opened++; return seqOf(3, -1) }
	got, next, err := page(concat(open, open, open), PageInput{Limit: 2}, "k", func(p *int) int { return *p })
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1}, got)
	assert.NotEmpty(t, next)
	assert.Equal(t, 1, opened, "later listings are not opened before they are needed")
}

// FuzzDecodeCursor feeds cursors as a client could send them: decoding never
// panics, and whatever it accepts is exactly what encodeCursor produces for a
// bounded offset.
func FuzzDecodeCursor(f *testing.F) {
	listing := listingKey("list_resources", "a", "b")
	f.Add(encodeCursor(listing, 20))
	f.Add(encodeCursor(listing, maxOffset))
	f.Add("")
	f.Add("djF8")
	f.Add("djF8fHwx")
	f.Fuzz(func(t *testing.T, cursor string) {
		n, err := decodeCursor(cursor, listing)
		if err != nil || cursor == "" {
			return
		}
		if n <= 0 || n > maxOffset {
			t.Fatalf("accepted offset %d out of bounds", n)
		}
		if encodeCursor(listing, n) != cursor {
			t.Fatalf("accepted a cursor encodeCursor would not produce: %q", cursor)
		}
	})
}
