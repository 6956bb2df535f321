package waldur_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// bigUser answers /api/users/me/ with a JSON object of about n bytes, without
// Content-Length (chunked).
func bigUser(n int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fl := w.(http.Flusher)
		_, _ = io.WriteString(w, `{"username": "`)
		fl.Flush() // chunked from here on
		_, _ = io.WriteString(w, strings.Repeat("a", n))
		_, _ = io.WriteString(w, `"}`)
	}
}

func TestResponseSizeLimit(t *testing.T) {
	hs := httptest.NewServer(bigUser(2 << 20))
	defer hs.Close()
	ctx := context.Background()

	c, err := waldur.NewClient(hs.URL, waldur.WithToken("t"), waldur.WithMaxResponseBytes(1<<20))
	require.NoError(t, err)
	_, err = c.Users.Me(ctx)
	require.Error(t, err)
	assert.True(t, errors.Is(err, waldur.ErrResponseTooLarge), "%v", err)
	assert.False(t, waldur.IsTransient(err), "a larger answer will not fit next time either")
	assert.Contains(t, err.Error(), "/api/users/me/")
	assert.Contains(t, err.Error(), "WithMaxResponseBytes")

	// The bound holds for the raw paths too.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, hs.URL+"/api/users/me/", nil)
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.ErrorIs(t, err, waldur.ErrResponseTooLarge)

	// A body of exactly the limit passes; the default limit is 64 MiB.
	c, err = waldur.NewClient(hs.URL, waldur.WithToken("t"), waldur.WithMaxResponseBytes(int64(2<<20+len(`{"username": ""}`))))
	require.NoError(t, err)
	me, err := c.Users.Me(ctx)
	require.NoError(t, err)
	assert.Len(t, me.Username, 2<<20)
	c, err = waldur.NewClient(hs.URL, waldur.WithToken("t"))
	require.NoError(t, err)
	_, err = c.Users.Me(ctx)
	require.NoError(t, err)
}

// lyingServer announces a Content-Length of announced bytes and sends a
// short body before hanging up.
func lyingServer(t *testing.T, announced int64) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{}", announced)
		_ = buf.Flush()
	}))
}

func TestResponseSizeLimitTrustsNoContentLength(t *testing.T) {
	ctx := context.Background()

	// Over the limit: refused before reading.
	hs := lyingServer(t, 1<<40)
	defer hs.Close()
	c, err := waldur.NewClient(hs.URL, waldur.WithToken("t"), waldur.WithRetryPolicy(waldur.RetryPolicy{MaxRetries: -1}))
	require.NoError(t, err)
	_, err = c.Users.Me(ctx)
	assert.ErrorIs(t, err, waldur.ErrResponseTooLarge)
	assert.Contains(t, err.Error(), "Content-Length 1099511627776")

	// Under the limit but a lie: nothing is reserved for what never comes.
	hs2 := lyingServer(t, 60<<20)
	defer hs2.Close()
	c, err = waldur.NewClient(hs2.URL, waldur.WithToken("t"), waldur.WithRetryPolicy(waldur.RetryPolicy{MaxRetries: -1}))
	require.NoError(t, err)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = c.Users.Me(ctx)
	runtime.ReadMemStats(&after)
	assert.Error(t, err, "the body ended early")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(8<<20), "bytes allocated for a 60 MiB announcement")
}
