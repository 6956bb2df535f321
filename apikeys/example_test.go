package apikeys_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
)

func ExampleManager() {
	ctx := context.Background()
	keys, err := apikeys.New(apikeys.Config{Store: apikeys.NewMemoryStore()})
	if err != nil {
		panic(err)
	}
	issued, err := keys.IssueForResource(ctx, apikeys.Binding{
		ProjectUUID:  uuid.MustParse("6f1a0d5e-0b7e-4c53-9d3e-2a9d8f1b7c10"),
		ResourceUUID: uuid.MustParse("a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90"),
	}, apikeys.IssueOptions{ClientID: "gw-1", Scopes: []string{"chat:write"}, TTL: 90 * 24 * time.Hour})
	if err != nil {
		panic(err)
	}
	plaintext := issued.Key.Format() // hand this to the customer once
	fmt.Println(strings.HasPrefix(plaintext, "wak_"), len(plaintext))

	res, err := keys.Verify(ctx, plaintext, "chat:write")
	if err != nil {
		panic(err) // the store failed
	}
	fmt.Println(res.Reason, res.Identity.ClientID, res.Identity.ResourceUUID)

	res, _ = keys.Verify(ctx, plaintext, "admin")
	fmt.Println(res.Reason, errors.Is(res.Err(), apikeys.ErrScopeMissing))

	_ = keys.Revoke(ctx, issued.Key.ID)
	res, _ = keys.Verify(ctx, plaintext)
	fmt.Println(res.Reason)
	// Output:
	// true 45
	// valid gw-1 a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90
	// scope_missing true
	// revoked
}

func ExampleManager_Rotate() {
	ctx := context.Background()
	now := time.Date(2026, 8, 14, 12, 0, 0, 0, time.UTC)
	keys, _ := apikeys.New(apikeys.Config{
		Store:         apikeys.NewMemoryStore(),
		RotationGrace: time.Hour,
		Now:           func() time.Time { return now },
	})
	old, _ := keys.Issue(ctx, apikeys.IssueOptions{TTL: 30 * 24 * time.Hour})
	next, _ := keys.Rotate(ctx, old.Key.ID, apikeys.RotateOptions{})

	check := func(is apikeys.Issued) apikeys.Reason {
		res, _ := keys.Verify(ctx, is.Key.Format())
		return res.Reason
	}
	fmt.Println("during grace:", check(old), check(next))
	now = now.Add(time.Hour)
	fmt.Println("after grace: ", check(old), check(next))
	// Output:
	// during grace: valid valid
	// after grace:  revoked valid
}

func ExampleMiddleware() {
	ctx := context.Background()
	keys, _ := apikeys.New(apikeys.Config{Store: apikeys.NewMemoryStore(), AllowNoExpiry: true})
	issued, _ := keys.Issue(ctx, apikeys.IssueOptions{Name: "docs", Scopes: []string{"orders:read"}})

	api := http.NewServeMux()
	api.HandleFunc("GET /orders", func(w http.ResponseWriter, r *http.Request) {
		id, _ := apikeys.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s\n", id.Name)
	})
	api.Handle("POST /orders", apikeys.RequireScopes(http.NotFoundHandler(), "orders:write"))
	h := apikeys.Middleware(keys, apikeys.MiddlewareConfig{Scopes: []string{"orders:read"}})(api)

	do := func(method, auth string) {
		req := httptest.NewRequest(method, "/orders", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Print(rec.Code, " ", rec.Body.String())
	}
	do("GET", "Token "+issued.Key.Format())
	do("GET", "")
	do("GET", "Bearer wak_not_a_real_key")
	do("POST", "Bearer "+issued.Key.Format())
	// Output:
	// 200 hello docs
	// 401 {"error":"an API key is required","code":"missing_api_key"}
	// 401 {"error":"invalid API key","code":"invalid_api_key"}
	// 403 {"error":"the API key lacks a required scope","code":"insufficient_scope"}
}

func ExampleMeter() {
	ctx := context.Background()
	now := time.Date(2026, 8, 14, 12, 0, 0, 0, time.UTC)
	sink := apikeys.UsageSinkFunc(func(_ context.Context, usage []apikeys.UsageRecord) error {
		for _, u := range usage {
			fmt.Println(u.ResourceUUID, u.Component, u.PeriodStart.Format("2006-01-02"), u.Amount)
		}
		return nil
	})
	meter, _ := apikeys.NewMeter(apikeys.MeterConfig{Sink: sink, Now: func() time.Time { return now }})

	caller := apikeys.Identity{KeyID: "k1", Binding: apikeys.Binding{
		ResourceUUID: uuid.MustParse("a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90")}}
	meter.Add(caller, "requests", 1)
	meter.Add(caller, "tokens", 1200)
	_ = meter.Flush(ctx)
	meter.Add(caller, "tokens", 800)
	_ = meter.Flush(ctx) // running totals: re-sending is harmless
	// Output:
	// a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90 requests 2026-08-01 1
	// a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90 tokens 2026-08-01 1200
	// a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90 tokens 2026-08-01 2000
}

func ExampleParse() {
	k, _ := apikeys.Generate("")
	typo := []byte(k.Format())
	if typo[20] == 'x' { // change one character of the secret
		typo[20] = 'y'
	} else {
		typo[20] = 'x'
	}
	_, err := apikeys.Parse(string(typo))
	fmt.Println(errors.Is(err, apikeys.ErrChecksum), errors.Is(err, apikeys.ErrMalformed))

	_, err = apikeys.Parse("wak_short")
	fmt.Println(err)
	// Output:
	// true true
	// apikeys: malformed key: wrong length
}
