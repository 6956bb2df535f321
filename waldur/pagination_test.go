package waldur

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pager serves items 0..total-1 in pages of size, linking pages the way
// Waldur does: absolute URLs that keep the filters.
type pager struct {
	total, size int
	linkHost    string // host in the links; "" uses the request's

	mu    sync.Mutex
	pages []string // raw query of every request
}

func (p *pager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.pages = append(p.pages, r.URL.RawQuery)
	p.mu.Unlock()
	q := r.URL.Query()
	page, _ := strconv.Atoi(q.Get("page"))
	if page < 1 {
		page = 1
	}
	host := p.linkHost
	if host == "" {
		host = "http://" + r.Host
	}
	link := func(n int) string {
		q.Set("page", strconv.Itoa(n))
		return fmt.Sprintf("<%s%s?%s>", host, r.URL.Path, q.Encode())
	}
	var items []map[string]int
	for i := (page - 1) * p.size; i < page*p.size && i < p.total; i++ {
		items = append(items, map[string]int{"n": i})
	}
	last := (p.total + p.size - 1) / p.size
	links := link(1) + `; rel="first"`
	if page > 1 {
		links += ", " + link(page-1) + `; rel="prev"`
	}
	if page < last {
		links += ", " + link(page+1) + `; rel="next"`
	}
	links += ", " + link(last) + `; rel="last"`
	w.Header().Set("Link", links)
	w.Header().Set("X-Result-Count", strconv.Itoa(p.total))
	json.NewEncoder(w).Encode(items)
}

func (p *pager) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.pages...)
}

type item struct {
	N int `json:"n"`
}

func TestListFollowsLinkAcrossPages(t *testing.T) {
	p := &pager{total: 7, size: 3}
	c, _ := newTestClient(t, p)
	var got []int
	for it, err := range list[item](context.Background(), c, getReq(c, "api/marketplace-orders/?offering_uuid=a,b&state=executing&state=done&page_size=3")) {
		require.NoError(t, err)
		got = append(got, it.N)
	}
	assert.Equal(t, []int{0, 1, 2, 3, 4, 5, 6}, got)
	reqs := p.requests()
	require.Len(t, reqs, 3)
	for _, q := range reqs {
		v, err := parseQuery(q)
		require.NoError(t, err)
		assert.Equal(t, []string{"a,b"}, v["offering_uuid"], "filters kept on every page")
		assert.Equal(t, []string{"executing", "done"}, v["state"])
	}
}

func TestListStopsFetchingWhenConsumerBreaks(t *testing.T) {
	p := &pager{total: 30, size: 3}
	c, _ := newTestClient(t, p)
	n := 0
	for _, err := range list[item](context.Background(), c, getReq(c, "api/x/?page_size=3")) {
		require.NoError(t, err)
		n++
		if n == 4 { // first item of page 2
			break
		}
	}
	assert.Len(t, p.requests(), 2)
}

func TestListNothingFetchedUntilRanged(t *testing.T) {
	p := &pager{total: 3, size: 3}
	c, _ := newTestClient(t, p)
	seq := list[item](context.Background(), c, getReq(c, "api/x/"))
	assert.Empty(t, p.requests())
	items, err := collect(seq)
	require.NoError(t, err)
	assert.Len(t, items, 3)
	items, err = collect(seq)
	require.NoError(t, err)
	assert.Len(t, items, 3, "ranging again starts from the first page")
}

func TestListSendsTokenOnlyToConfiguredHost(t *testing.T) {
	p := &pager{total: 5, size: 2, linkHost: "http://evil.example.com"}
	c, _ := newTestClient(t, p)
	items, err := collect(list[item](context.Background(), c, getReq(c, "api/x/")))
	require.NoError(t, err)
	assert.Len(t, items, 5, "next links are rebased onto the configured server")
}

func TestListYieldsErrorAndStops(t *testing.T) {
	calls := 0
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.URL.Query().Get("page") == "2" {
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"detail": "You do not have permission to perform this action."}`))
			return
		}
		w.Header().Set("Link", fmt.Sprintf(`<http://%s/api/x/?page=2>; rel="next"`, r.Host))
		w.Write([]byte(`[{"n": 1}]`))
	})
	c, _ := newTestClient(t, h)
	var got []int
	var errs []error
	for it, err := range list[item](context.Background(), c, getReq(c, "api/x/")) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got = append(got, it.N)
	}
	assert.Equal(t, []int{1}, got)
	require.Len(t, errs, 1)
	assert.True(t, IsForbidden(errs[0]))
	assert.Equal(t, 2, calls)
}

func TestListDetectsLinkLoop(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", fmt.Sprintf(`<http://%s%s>; rel="next"`, r.Host, r.URL.RequestURI()))
		w.Write([]byte(`[{"n": 1}]`))
	})
	c, _ := newTestClient(t, h)
	_, err := collect(list[item](context.Background(), c, getReq(c, "api/x/?page=1")))
	assert.ErrorIs(t, err, errPaginationLoop)
}

func TestLinkNext(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   string
		ok     bool
	}{
		{"none", nil, "", false},
		{"only prev", []string{`<https://w/api/x/?page=1>; rel="prev"`}, "", false},
		{"drf order", []string{`<https://w/api/x/?page=1>; rel="first", <https://w/api/x/?page=1>; rel="prev", <https://w/api/x/?page=3>; rel="next", <https://w/api/x/?page=9>; rel="last"`}, "https://w/api/x/?page=3", true},
		{"commas in URL", []string{`<https://w/api/x/?o=-created,name&offering_uuid=a,b&page=2>; rel="next"`}, "https://w/api/x/?o=-created,name&offering_uuid=a,b&page=2", true},
		{"unquoted, upper case", []string{`<https://w/api/x/?page=2>; REL=next`}, "https://w/api/x/?page=2", true},
		{"multi-valued rel", []string{`<https://w/?page=2>; rel="last next"`}, "https://w/?page=2", true},
		{"separate headers", []string{`<https://w/?page=1>; rel="first"`, `<https://w/?page=2>; rel="next"`}, "https://w/?page=2", true},
		{"title with comma and angle bracket", []string{`<https://w/?page=1>; title="a, <b>"; rel="first", <https://w/?page=2>; rel="next"`}, "https://w/?page=2", true},
		{"garbage", []string{`rel="next"`, `<unterminated; rel="next"`}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := linkNext(tt.values)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func FuzzLinkNext(f *testing.F) {
	f.Add(`<https://w/api/x/?page=1>; rel="prev", <https://w/api/x/?o=a,b&page=3>; rel="next"`)
	f.Add(`<>; rel=next`)
	f.Add(`<<a>>; rel="next`)
	f.Fuzz(func(t *testing.T, v string) {
		got, ok := linkNext([]string{v})
		if !ok && got != "" {
			t.Fatalf("linkNext(%q) = %q, false", v, got)
		}
		if ok && !containsString(v, "<"+got+">") {
			t.Fatalf("linkNext(%q) = %q, not a bracketed target of the input", v, got)
		}
	})
}

func TestCount(t *testing.T) {
	p := &pager{total: 42, size: 3}
	c, _ := newTestClient(t, p)
	req, err := http.NewRequest(http.MethodHead, c.server+"api/marketplace-orders/?state=pending-provider", nil)
	require.NoError(t, err)
	n, err := c.count(context.Background(), req, nil)
	require.NoError(t, err)
	assert.Equal(t, 42, n)

	noHeader, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	req, _ = http.NewRequest(http.MethodHead, noHeader.server+"api/marketplace-orders/", nil)
	_, err = noHeader.count(context.Background(), req, nil)
	assert.ErrorContains(t, err, "X-Result-Count")
}
