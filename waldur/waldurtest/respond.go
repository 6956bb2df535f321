package waldurtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Waldur's pagination settings (waldur_core LinkHeaderPagination).
const (
	defaultPageSize = 10
	maxPageSize     = 300
)

// hexID renders a UUID the way Waldur does: 32 lowercase hex digits.
func hexID(id uuid.UUID) string {
	var b [32]byte
	const digits = "0123456789abcdef"
	for i, x := range id {
		b[2*i] = digits[x>>4]
		b[2*i+1] = digits[x&0x0f]
	}
	return string(b[:])
}

// parseID accepts both the hex and the hyphenated form.
func parseID(s string) (uuid.UUID, bool) {
	id, err := uuid.Parse(strings.TrimSpace(s))
	return id, err == nil
}

// marshal encodes v as JSON with every hyphenated UUID string rewritten to
// Waldur's hex form, whatever type produced it.
func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("waldurtest: encode %T: %v", v, err))
	}
	return hexUUIDs(b)
}

// hexUUIDs rewrites, in place, JSON strings that are exactly a hyphenated
// UUID to the 32-hex form. It walks the document's strings so that quotes
// inside strings are never taken for string starts.
func hexUUIDs(b []byte) []byte {
	w := 0
	for i := 0; i < len(b); {
		if b[i] != '"' {
			b[w] = b[i]
			w++
			i++
			continue
		}
		// b[i] opens a string.
		if i+37 < len(b) && b[i+37] == '"' && isHyphenated(b[i+1:i+37]) {
			b[w] = '"'
			w++
			for _, ch := range b[i+1 : i+37] {
				if ch != '-' {
					b[w] = ch
					w++
				}
			}
			b[w] = '"'
			w++
			i += 38
			continue
		}
		// Copy the string through its closing quote, minding escapes.
		b[w] = b[i]
		w++
		i++
		for i < len(b) {
			ch := b[i]
			b[w] = ch
			w++
			i++
			if ch == '\\' && i < len(b) {
				b[w] = b[i]
				w++
				i++
				continue
			}
			if ch == '"' {
				break
			}
		}
	}
	return b[:w]
}

func isHyphenated(s []byte) bool {
	for i, ch := range s {
		switch i {
		case 8, 13, 18, 23:
			if ch != '-' {
				return false
			}
		default:
			if !('0' <= ch && ch <= '9' || 'a' <= ch && ch <= 'f' || 'A' <= ch && ch <= 'F') {
				return false
			}
		}
	}
	return true
}

func jsonReply(status int, v any) reply { return reply{status: status, body: marshal(v)} }

func detail(status int, msg string) reply {
	return jsonReply(status, map[string]string{"detail": msg})
}

func statusReply(msg string) reply { return jsonReply(http.StatusOK, map[string]string{"status": msg}) }

func notFound() reply { return detail(http.StatusNotFound, "Not found.") }

// fieldError is DRF's serializer error shape: {"field": ["message"]}.
func fieldError(field, msg string) reply {
	return jsonReply(http.StatusBadRequest, map[string][]string{field: {msg}})
}

// arrayError is the shape of a ValidationError raised in a view: ["message"].
func arrayError(msg string) reply { return jsonReply(http.StatusBadRequest, []string{msg}) }

func required(field string) reply { return fieldError(field, "This field is required.") }

// invalidState answers an action called in a state it is not valid from, the
// way Waldur's StateValidator does (or with 400 and an array body when the
// server is configured so).
func (c *reqCtx) invalidState(valid ...string) reply {
	msg := "Valid states for operation: " + strings.Join(valid, ", ") + "."
	if c.s.invalidStatus == http.StatusBadRequest {
		return arrayError(msg)
	}
	return detail(http.StatusConflict, msg)
}

// decode parses the JSON request body into v; an empty body leaves v alone.
func (c *reqCtx) decode(v any) (reply, bool) {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return reply{}, true
	}
	err := json.Unmarshal(c.body, v)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return reply{}, true
	case errors.As(err, &typeErr) && typeErr.Field != "":
		// A well-formed body with a value of the wrong type: DRF reports it
		// against the field.
		field, _, _ := strings.Cut(typeErr.Field, ".")
		return fieldError(field, "Invalid value: expected "+typeErr.Type.String()+"."), false
	}
	return detail(http.StatusBadRequest, "JSON parse error - "+err.Error()), false
}

// pathID returns the {uuid} path value, false when it is not a UUID.
func (c *reqCtx) pathID() (uuid.UUID, bool) { return parseID(c.r.PathValue("uuid")) }

// fields returns the sparse fieldset requested with repeated ?field=.
func (c *reqCtx) fields() []string {
	var out []string
	for _, f := range c.query()["field"] {
		for p := range strings.SplitSeq(f, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// encodeFields encodes v keeping only the requested keys.
func encodeFields(v any, fields []string) []byte {
	b := marshal(v)
	if len(fields) == 0 {
		return b
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return b
	}
	keep := make(map[string]json.RawMessage, len(fields))
	for _, f := range fields {
		if x, ok := m[f]; ok {
			keep[f] = x
		}
	}
	out, _ := json.Marshal(keep)
	return out
}

// object answers 200 with v, honouring ?field=.
func (c *reqCtx) object(v any) reply {
	return reply{status: http.StatusOK, body: encodeFields(v, c.fields())}
}

// listReply pages items the way Waldur's LinkHeaderPagination does: a bare
// JSON array, X-Result-Count and a Link header with absolute URLs that keep the
// filters. HEAD gets the headers only.
func listReply[T any](c *reqCtx, items []T, render func(T) any) reply {
	q := c.query()
	size := defaultPageSize
	if v, err := strconv.Atoi(q.Get("page_size")); err == nil && v > 0 {
		size = min(v, maxPageSize)
	}
	total := len(items)
	last := max(1, (total+size-1)/size)
	page := 1
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case v == "last":
			page = last
		case err != nil || n < 1 || n > last:
			return detail(http.StatusNotFound, "Invalid page.")
		default:
			page = n
		}
	}
	h := http.Header{}
	h.Set("X-Result-Count", strconv.Itoa(total))
	h.Set("Link", c.linkHeader(page, last))
	if c.r.Method == http.MethodHead {
		return reply{status: http.StatusOK, header: h}
	}
	start := (page - 1) * size
	end := min(start+size, total)
	fields := c.fields()
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i := start; i < end; i++ {
		if i > start {
			buf.WriteByte(',')
		}
		buf.Write(encodeFields(render(items[i]), fields))
	}
	buf.WriteByte(']')
	return reply{status: http.StatusOK, body: buf.Bytes(), header: h}
}

func (c *reqCtx) linkHeader(page, last int) string {
	link := func(p int) string {
		q := c.query()
		if p == 1 {
			q.Del("page")
		} else {
			q.Set("page", strconv.Itoa(p))
		}
		u := url.URL{Scheme: "http", Host: c.r.Host, Path: c.r.URL.Path, RawQuery: q.Encode()}
		return u.String()
	}
	parts := []string{fmt.Sprintf("<%s>; rel=\"first\"", link(1))}
	if page > 1 {
		parts = append(parts, fmt.Sprintf("<%s>; rel=\"prev\"", link(page-1)))
	}
	if page < last {
		parts = append(parts, fmt.Sprintf("<%s>; rel=\"next\"", link(page+1)))
	}
	parts = append(parts, fmt.Sprintf("<%s>; rel=\"last\"", link(last)))
	return strings.Join(parts, ", ")
}

// filter helpers: each returns the parsed filter and, on a malformed value,
// the 400 reply Waldur's filter backend gives.

// uuidFilter parses a UUID filter; comma-separated values are accepted where
// Waldur's filter is a multi-value "comma" filter.
func uuidFilter(q url.Values, name string, multi bool) (map[uuid.UUID]bool, reply, bool) {
	vals := q[name]
	if len(vals) == 0 {
		return nil, reply{}, true
	}
	set := map[uuid.UUID]bool{}
	for _, v := range vals {
		parts := []string{v}
		if multi {
			parts = strings.Split(v, ",")
		}
		for _, p := range parts {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			id, ok := parseID(p)
			if !ok {
				return nil, fieldError(name, "Enter a valid UUID."), false
			}
			set[id] = true
		}
	}
	return set, reply{}, true
}

// stringsFilter collects a repeated (and, when multi, comma-separated) filter.
func stringsFilter(q url.Values, name string, multi bool) map[string]bool {
	vals := q[name]
	if len(vals) == 0 {
		return nil
	}
	set := map[string]bool{}
	for _, v := range vals {
		if !multi {
			set[v] = true
			continue
		}
		for p := range strings.SplitSeq(v, ",") {
			set[strings.TrimSpace(p)] = true
		}
	}
	return set
}

// boolFilter parses Django's boolean filter values; ok is false when absent.
func boolFilter(q url.Values, name string) (val, ok bool) {
	switch strings.ToLower(q.Get(name)) {
	case "true", "1", "yes":
		return true, true
	case "false", "0", "no":
		return false, true
	}
	return false, false
}

// match reports whether v passes a set filter (a nil set passes everything).
func match[K comparable](set map[K]bool, v K) bool { return set == nil || set[v] }
