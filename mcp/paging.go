package mcp

import (
	"encoding/base64"
	"hash/fnv"
	"iter"
	"strconv"
	"strings"
)

// A cursor is opaque to clients: base64url of "v1|<listing>|<offset>", where
// listing fingerprints the tool and its filters. A cursor therefore only
// continues the listing it came from; handing it to another tool or with
// other filters is refused instead of silently paging something else.
//
// Offsets, not Waldur page numbers, keep the cursor independent of the
// client's page size. Continuing at offset n re-reads the first n items from
// Waldur (page by page), which is cheap for the few pages a conversation
// walks through.

const cursorVersion = "v1"

// maxCursorLen bounds what decodeCursor reads; real cursors are ~40 bytes.
const maxCursorLen = 256

// maxOffset bounds an offset so a forged cursor cannot make a listing skip
// through millions of objects.
const maxOffset = 100_000

var errBadCursor error = &failure{msg: "invalid cursor: pass the next_cursor of the previous page unchanged, with the same filters, or omit it to start over"}

// listingKey fingerprints a tool and its filters.
func listingKey(tool string, filters ...string) string {
	h := fnv.New64a()
	h.Write([]byte(tool))
	for _, f := range filters {
		h.Write([]byte{0})
		h.Write([]byte(f))
	}
	return strconv.FormatUint(h.Sum64(), 36)
}

func encodeCursor(listing string, offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorVersion + "|" + listing + "|" + strconv.Itoa(offset)))
}

// decodeCursor returns the offset a cursor continues at; the empty cursor
// starts at 0.
func decodeCursor(cursor, listing string) (int, error) {
	if cursor == "" {
		return 0, nil
	}
	if len(cursor) > maxCursorLen {
		return 0, errBadCursor
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(cursor)
	// The decoder skips line breaks; only the canonical form is a cursor.
	if err != nil || base64.RawURLEncoding.EncodeToString(raw) != cursor {
		return 0, errBadCursor
	}
	version, rest, ok := strings.Cut(string(raw), "|")
	if !ok || version != cursorVersion {
		return 0, errBadCursor
	}
	key, off, ok := strings.Cut(rest, "|")
	if !ok || key != listing {
		return 0, errBadCursor
	}
	n, err := strconv.Atoi(off)
	if err != nil || n <= 0 || n > maxOffset || strconv.Itoa(n) != off {
		return 0, errBadCursor
	}
	return n, nil
}

// pageLimit applies the default and the bound to a requested page size.
func pageLimit(n int) (int, error) {
	switch {
	case n == 0:
		return DefaultListLimit, nil
	case n < 0 || n > MaxListLimit:
		return 0, failf("limit must be between 1 and %d", MaxListLimit)
	}
	return n, nil
}

// page reads one page from seq: it skips the cursor's offset, converts up to
// limit items and peeks one further to tell whether a next page exists.
func page[T, U any](seq iter.Seq2[T, error], in PageInput, listing string, conv func(*T) U) ([]U, string, error) {
	limit, err := pageLimit(in.Limit)
	if err != nil {
		return nil, "", err
	}
	offset, err := decodeCursor(in.Cursor, listing)
	if err != nil {
		return nil, "", err
	}
	out := make([]U, 0, min(limit, 32))
	i, more := 0, false
	for item, err := range seq {
		if err != nil {
			return nil, "", err
		}
		switch {
		case i < offset:
		case len(out) < limit:
			out = append(out, conv(&item))
		default:
			more = true
		}
		if more {
			break
		}
		i++
	}
	next := ""
	if more {
		next = encodeCursor(listing, offset+limit)
	}
	return out, next, nil
}

// concat chains sequences, opening each only when the previous is exhausted.
func concat[T any](seqs ...func() iter.Seq2[T, error]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for _, open := range seqs {
			for v, err := range open() {
				if !yield(v, err) {
					return
				}
				if err != nil {
					return
				}
			}
		}
	}
}
