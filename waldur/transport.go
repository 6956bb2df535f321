package waldur

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// transport is the HTTP doer every request goes through, the generated
// low-level client's included: it adds authentication and the User-Agent and
// runs the request under the retry policy.
type transport struct {
	rc            *retryablehttp.Client
	authorization string // never logged, never put into errors
	userAgent     string
	maxResponse   int64
	log           *slog.Logger
}

func newTransport(s *settings, log *slog.Logger) *transport {
	r := newRetryer(s.retry, log)
	if s.now != nil {
		r.now = s.now
	}
	if s.observeWait != nil {
		r.observe = s.observeWait
	}
	hc := s.httpClient
	if hc == nil {
		hc = defaultHTTPClient()
	}
	rc := &retryablehttp.Client{
		HTTPClient:   hc,
		Logger:       nil, // we log ourselves, see Do and retryer.checkRetry
		RetryWaitMin: r.policy.MinWait,
		RetryWaitMax: r.policy.MaxWait,
		RetryMax:     r.policy.MaxRetries,
		CheckRetry:   r.checkRetry,
		Backoff:      r.backoff,
		// Hand back the last response untouched: by default retryablehttp
		// drains and closes it when it gives up, losing Waldur's error body.
		ErrorHandler: func(resp *http.Response, err error, _ int) (*http.Response, error) {
			return resp, err
		},
		RequestLogHook: func(_ retryablehttp.Logger, req *http.Request, _ int) {
			if st := stateFrom(req.Context()); st != nil {
				st.attempts++
			}
		},
	}
	return &transport{rc: rc, authorization: s.authorization, userAgent: s.userAgent, maxResponse: s.maxResponse, log: log}
}

// defaultHTTPClient is a pooled client private to one waldur.Client, so that
// closing idle connections after a failure does not touch anybody else's.
func defaultHTTPClient() *http.Client {
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   16,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: 1 * time.Second,
		},
	}
}

// Do sends req with retries and returns the final response, whatever its
// status. It implements the generated client's HttpRequestDoer. The caller's
// request is not modified.
func (t *transport) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	st := &callState{
		method:    req.Method,
		path:      req.URL.EscapedPath(),
		retryable: idempotent(req.Method) || isRetrySafe(ctx),
	}
	req = req.Clone(context.WithValue(ctx, callStateKey{}, st))
	if t.authorization != "" && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", t.authorization)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", t.userAgent)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	rreq, err := retryablehttp.FromRequest(req)
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	start := time.Now()
	resp, err := t.rc.Do(rreq)
	if t.log.Enabled(ctx, slog.LevelDebug) {
		attrs := []slog.Attr{
			slog.String("method", st.method),
			slog.String("path", st.path),
			slog.Int("attempts", st.attempts),
			slog.Duration("duration", time.Since(start)),
		}
		if resp != nil {
			attrs = append(attrs, slog.Int("status", resp.StatusCode))
		}
		if err != nil {
			attrs = append(attrs, slog.String("error", err.Error()))
		}
		t.log.LogAttrs(ctx, slog.LevelDebug, "waldur: request", attrs...)
	}
	if err != nil && resp != nil {
		resp.Body.Close()
		resp = nil
	}
	if resp != nil {
		resp.Body = &limitedBody{rc: resp.Body, left: t.maxResponse, max: t.maxResponse, announced: resp.ContentLength}
	}
	return resp, err
}

// ErrResponseTooLarge is wrapped by the error of reading a response body
// longer than the client's limit (see [WithMaxResponseBytes]).
var ErrResponseTooLarge = errors.New("response body exceeds the client's size limit")

// limitedBody fails reads past max bytes, or at once when the response
// announced more.
type limitedBody struct {
	rc        io.ReadCloser
	left, max int64
	announced int64 // Content-Length, -1 when unknown
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.announced > b.max {
		return 0, fmt.Errorf("%w: Content-Length %d, limit %d bytes (waldur.WithMaxResponseBytes)", ErrResponseTooLarge, b.announced, b.max)
	}
	if b.left <= 0 {
		// One byte more tells a body of exactly max bytes from a longer one.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: more than %d bytes (waldur.WithMaxResponseBytes)", ErrResponseTooLarge, b.max)
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
