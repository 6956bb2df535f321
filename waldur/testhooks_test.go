package waldur

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// withClock makes the client read time from now (Retry-After dates).
func withClock(now func() time.Time) Option {
	return func(s *settings) { s.now = now }
}

// waitRecorder records the retry waits the client computes and spends none
// of them, so retry tests run without sleeping.
type waitRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (w *waitRecorder) option() Option {
	return func(s *settings) {
		s.observeWait = func(d time.Duration) time.Duration {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.waits = append(w.waits, d)
			return 0
		}
	}
}

func (w *waitRecorder) recorded() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.waits...)
}

// newTestClient starts an httptest server with h and returns a client for it
// whose retry waits are recorded, not spent.
func newTestClient(t *testing.T, h http.Handler, opts ...Option) (*Client, *waitRecorder) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	w := &waitRecorder{}
	c, err := NewClient(srv.URL, append([]Option{w.option(), WithToken(testToken)}, opts...)...)
	require.NoError(t, err)
	return c, w
}

const testToken = "0123456789abcdef0123456789abcdef01234567"

// getReq builds a GET request for path on c, as a generated builder would.
func getReq(c *Client, path string) func() (*http.Request, error) {
	return func() (*http.Request, error) {
		return http.NewRequest(http.MethodGet, c.server+path, nil)
	}
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

func containsString(s, sub string) bool { return strings.Contains(s, sub) }

func parseQuery(q string) (url.Values, error) { return url.ParseQuery(q) }

func newBenchServer(b *testing.B, h http.Handler) string {
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	return srv.URL
}
