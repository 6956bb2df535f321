package waldur_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// exampleServer stands in for Waldur in the examples.
func exampleServer() *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/users/me/", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Token 0123456789abcdef" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"detail": "Invalid token."}`)
			return
		}
		io.WriteString(w, `{"uuid": "3c2b1a09f8e7d6c5b4a3928170f6e5d4", "username": "hpc-agent"}`)
	})
	mux.HandleFunc("GET /api/marketplace-orders/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "" {
			w.Header().Set("Link", fmt.Sprintf(`<http://%s/api/marketplace-orders/?%s&page=2>; rel="next"`, r.Host, r.URL.RawQuery))
			io.WriteString(w, `[{"uuid": "5d0f0a8c2a7e4b51a1f3c6d7e8f90a12", "type": "Create", "state": "pending-provider"}]`)
			return
		}
		io.WriteString(w, `[{"uuid": "a1b2c3d4e5f60718293a4b5c6d7e8f90", "type": "Terminate", "state": "pending-provider"}]`)
	})
	mux.HandleFunc("POST /api/marketplace-orders/{uuid}/approve_by_provider/", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, `{"detail": "Valid states for operation: pending-provider."}`)
	})
	return httptest.NewServer(mux)
}

func ExampleNewClient() {
	srv := exampleServer()
	defer srv.Close()

	c, err := waldur.NewClient(srv.URL+"/api/", waldur.WithToken("0123456789abcdef"))
	if err != nil {
		log.Fatal(err)
	}
	me, err := c.Users.Me(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(me.Username, waldur.Hex(me.UUID))
	// Output: hpc-agent 3c2b1a09f8e7d6c5b4a3928170f6e5d4
}

func ExampleOrdersService_List() {
	srv := exampleServer()
	defer srv.Close()
	c, err := waldur.NewClient(srv.URL, waldur.WithToken("0123456789abcdef"))
	if err != nil {
		log.Fatal(err)
	}
	offering, _ := waldur.ParseUUID("0e4b7c2d9f1a4e3b8c6d5a4f3e2d1c0b")

	// Pages are fetched as the loop advances; breaking out stops fetching.
	for order, err := range c.Orders.List(context.Background(), waldur.ListOrdersOptions{
		OfferingUUID: offering,
		States:       []waldur.OrderState{waldur.OrderStatePendingProvider},
		Fields:       []string{"uuid", "type", "state"},
	}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(waldur.Hex(order.UUID), order.Type, order.State)
	}
	// Output:
	// 5d0f0a8c2a7e4b51a1f3c6d7e8f90a12 Create pending-provider
	// a1b2c3d4e5f60718293a4b5c6d7e8f90 Terminate pending-provider
}

func ExampleIsInvalidState() {
	srv := exampleServer()
	defer srv.Close()
	c, err := waldur.NewClient(srv.URL, waldur.WithToken("0123456789abcdef"))
	if err != nil {
		log.Fatal(err)
	}
	order, _ := waldur.ParseUUID("5d0f0a8c-2a7e-4b51-a1f3-c6d7e8f90a12")

	err = c.Orders.Approve(context.Background(), order)
	switch {
	case waldur.IsInvalidState(err):
		// Already moved on, perhaps by an earlier attempt: re-read and decide.
		fmt.Println("not pending any more")
	case err != nil:
		log.Fatal(err)
	}
	var apiErr *waldur.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Detail)
	}
	// Output:
	// not pending any more
	// 409 Valid states for operation: pending-provider.
}

func ExampleAPIError() {
	srv := exampleServer()
	defer srv.Close()
	c, err := waldur.NewClient(srv.URL, waldur.WithToken("expired"))
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.Users.Me(context.Background())
	fmt.Println(err)
	fmt.Println(waldur.IsUnauthorized(err), waldur.IsTransient(err))
	// Output:
	// waldur: GET /api/users/me/: 401 Unauthorized: Invalid token.
	// true false
}

func ExampleWithRetrySafe() {
	srv := exampleServer()
	defer srv.Close()
	c, err := waldur.NewClient(srv.URL, waldur.WithToken("0123456789abcdef"))
	if err != nil {
		log.Fatal(err)
	}
	order, _ := waldur.ParseUUID("5d0f0a8c2a7e4b51a1f3c6d7e8f90a12")

	// A POST is retried on 5xx, 429 and network errors only when marked safe;
	// approving twice is harmless because the second answer is a 409 the
	// caller treats as "already done".
	ctx := waldur.WithRetrySafe(context.Background())
	err = c.Orders.Approve(ctx, order)
	fmt.Println(waldur.IsInvalidState(err))
	// Output: true
}

// Waldur checks the offering type on some order actions: set_state_erred is
// for Marketplace.Slurm offerings only, and other types get 405, which no
// retry can change.
func ExampleIsRefusedForOfferingType() {
	s := waldurtest.New()
	defer s.Close()
	offering := s.AddOffering(waldurtest.OfferingSpec{Type: waldur.OfferingTypeBasic})
	order := s.AddOrder(waldurtest.OrderSpec{Offering: offering, State: "executing"})

	err := s.Client().Orders.SetErred(context.Background(), order, "backend failed", "")
	fmt.Println(waldur.IsRefusedForOfferingType(err), waldur.IsTransient(err))
	fmt.Println(waldur.OrderActionAllowed("set_state_erred", waldur.OfferingTypeBasic),
		waldur.OrderActionAllowed("set_state_done", waldur.OfferingTypeBasic))
	// Output:
	// true false
	// false true
}

// An OIDC access token cannot be told from a DRF token by its look, so its
// kind is given; a "w_…" personal access token would be recognised.
func ExampleWithCredential() {
	c, err := waldur.NewClient("https://waldur.example.com",
		waldur.WithCredential(waldur.TokenOIDC, "eyJhbGciOiJSUzI1NiJ9.e30.sig"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.TokenKind())
	fmt.Println(waldur.TokenAuto.Resolve("w_0123"), waldur.TokenAuto.Resolve("0123456789abcdef"))
	// Output:
	// oidc
	// pat token
}

func ExampleWithMaxResponseBytes() {
	srv := exampleServer()
	defer srv.Close()

	c, err := waldur.NewClient(srv.URL, waldur.WithToken("0123456789abcdef"), waldur.WithMaxResponseBytes(16))
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.Users.Me(context.Background())
	fmt.Println(errors.Is(err, waldur.ErrResponseTooLarge), waldur.IsTransient(err))
	// Output: true false
}
