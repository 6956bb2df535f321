package waldur

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// list returns a lazy sequence over a paginated Waldur list. build makes the
// request for the first page (a generated builder carrying the filters); later
// pages follow the Link rel="next" URL until there is none. Pages are fetched
// only as the consumer advances, and nothing more is fetched once it stops.
// The sequence ends after yielding the first error. Each range over the
// sequence starts again from the first page.
func list[T any](ctx context.Context, c *Client, build func() (*http.Request, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		req, buildErr := build()
		for {
			r, err := c.send(ctx, req, buildErr)
			if err != nil {
				yield(zero, err)
				return
			}
			var items []T
			if err := c.decode(ctx, req, r.body, &items); err != nil {
				yield(zero, err)
				return
			}
			next, err := c.nextPage(req.URL, r.header)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == nil || len(items) == 0 {
				return
			}
			req, buildErr = http.NewRequest(http.MethodGet, next.String(), nil)
		}
	}
}

// collect gathers a whole sequence into a slice, stopping at the first error.
func collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}

// errPaginationLoop is returned when a server's next link points back at the
// page just read, which would otherwise loop forever.
var errPaginationLoop = errors.New("waldur: next page link repeats the current page")

// nextPage returns the URL of the next page from the Link headers of the
// response to cur, or nil on the last page. The link's path and query are
// kept and its scheme and host replaced by the client's: a server behind a
// TLS-terminating proxy may advertise http:// links, and the token must never
// be sent to a host other than the configured one.
func (c *Client) nextPage(cur *url.URL, h http.Header) (*url.URL, error) {
	raw, ok := linkNext(h.Values("Link"))
	if !ok {
		return nil, nil
	}
	ref, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("waldur: invalid next page link: %w", errors.Unwrap(err))
	}
	next := cur.ResolveReference(ref)
	next.Scheme = c.base.Scheme
	next.Host = c.base.Host
	next.User = nil
	next.Fragment = ""
	if next.String() == cur.String() {
		return nil, errPaginationLoop
	}
	return next, nil
}

// linkNext finds the target of rel="next" in RFC 8288 Link header values:
//
//	<https://w.example.com/api/x/?page=2>; rel="next", <...>; rel="last"
//
// URLs may contain commas (Waldur's comma-separated filters), so values are
// scanned by their angle brackets rather than split on commas.
func linkNext(values []string) (string, bool) {
	for _, v := range values {
		for len(v) > 0 {
			start := strings.IndexByte(v, '<')
			if start < 0 {
				break
			}
			end := strings.IndexByte(v[start:], '>')
			if end < 0 {
				break
			}
			target := v[start+1 : start+end]
			v = v[start+end+1:]
			// Parameters run up to the next link, which starts after a comma
			// followed by '<'.
			params := v
			if i := nextLinkStart(v); i >= 0 {
				params, v = v[:i], v[i:]
			} else {
				v = ""
			}
			if hasRel(params, "next") {
				return target, true
			}
		}
	}
	return "", false
}

// nextLinkStart returns the index of the '<' opening the next link in s.
func nextLinkStart(s string) int {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inQuote = !inQuote
		case '<':
			if !inQuote {
				return i
			}
		}
	}
	return -1
}

// hasRel reports whether link parameters like `; rel="next"` include rel.
// A rel value may list several space-separated relation types.
func hasRel(params, rel string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
			continue
		}
		val = strings.Trim(strings.TrimSpace(val), `",`)
		for r := range strings.FieldsSeq(val) {
			if strings.EqualFold(r, rel) {
				return true
			}
		}
	}
	return false
}

// count sends a HEAD list request and returns its X-Result-Count.
func (c *Client) count(ctx context.Context, req *http.Request, buildErr error) (int, error) {
	r, err := c.send(ctx, req, buildErr)
	if err != nil {
		return 0, err
	}
	v := r.header.Get("X-Result-Count")
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("waldur: %s %s: missing or invalid X-Result-Count header %q", req.Method, req.URL.EscapedPath(), v)
	}
	return n, nil
}
