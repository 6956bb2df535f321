package mcp_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/mcp"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// A site agent serves its MCP endpoint over HTTP to API keys with scopes;
// an agent runtime calls it with Dial.
func ExampleServer_Handler() {
	ctx := context.Background()
	fake := waldurtest.New() // stands in for Waldur
	defer fake.Close()
	offering := fake.AddOffering(waldurtest.OfferingSpec{Name: "Object storage"})
	order := fake.AddOrder(waldurtest.OrderSpec{Offering: offering, Limits: map[string]int64{"storage": 100}})

	keys, err := apikeys.New(apikeys.Config{Store: apikeys.NewMemoryStore()})
	if err != nil {
		log.Fatal(err)
	}
	issued, err := keys.Issue(ctx, apikeys.IssueOptions{
		Name:   "ops assistant",
		Scopes: []string{mcp.ScopeOrdersRead, mcp.ScopeOrdersWrite},
		TTL:    24 * time.Hour,
	})
	if err != nil {
		log.Fatal(err)
	}

	srv, err := mcp.NewServer(mcp.Config{
		Client:    fake.Client(),
		Offerings: []waldur.UUID{offering},
		Keys:      keys,
	})
	if err != nil {
		log.Fatal(err)
	}
	endpoint := httptest.NewServer(srv.Handler()) // http.Handle("/mcp", srv.Handler()) in a real agent
	defer endpoint.Close()
	defer srv.Close()

	c, err := mcp.Dial(ctx, endpoint.URL, issued.Key.Format())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	pending, err := c.ListPendingOrders(ctx, mcp.ListPendingOrdersInput{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("pending:", len(pending.Orders), pending.Orders[0].Limits)

	approved, err := c.ApproveOrder(ctx, order)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("approved:", approved.State)

	_, err = c.ReportUsage(ctx, mcp.ReportUsageInput{ResourceUUID: approved.UUID})
	fmt.Println(err)
	// Output:
	// pending: 1 map[storage:100]
	// approved: executing
	// mcp: report_usage: permission denied: the API key lacks the scope "usage:write", which the tool report_usage requires
}

// A key bound to a project (apikeys.Binding) sees and acts on only that
// project's orders and resources; another project's are not found, exactly
// as if they did not exist.
func ExampleServer_Handler_boundKey() {
	ctx := context.Background()
	fake := waldurtest.New()
	defer fake.Close()
	offering := fake.AddOffering(waldurtest.OfferingSpec{Name: "HPC"})
	ours := fake.AddProject(waldurtest.ProjectSpec{Name: "Climate"})
	theirs := fake.AddProject(waldurtest.ProjectSpec{Name: "Genomics"})
	fake.AddOrder(waldurtest.OrderSpec{Offering: offering, Project: ours, ResourceName: "climate-1"})
	other := fake.AddOrder(waldurtest.OrderSpec{Offering: offering, Project: theirs, ResourceName: "genomics-1"})

	keys, err := apikeys.New(apikeys.Config{Store: apikeys.NewMemoryStore()})
	if err != nil {
		log.Fatal(err)
	}
	issued, err := keys.Issue(ctx, apikeys.IssueOptions{
		Name:    "climate team",
		Binding: apikeys.Binding{ProjectUUID: ours},
		Scopes:  []string{mcp.ScopeOrdersRead, mcp.ScopeOrdersWrite},
		TTL:     24 * time.Hour,
	})
	if err != nil {
		log.Fatal(err)
	}
	srv, err := mcp.NewServer(mcp.Config{Client: fake.Client(), Offerings: []waldur.UUID{offering}, Keys: keys})
	if err != nil {
		log.Fatal(err)
	}
	endpoint := httptest.NewServer(srv.Handler())
	defer endpoint.Close()
	defer srv.Close()

	c, err := mcp.Dial(ctx, endpoint.URL, issued.Key.Format())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	pending, err := c.ListPendingOrders(ctx, mcp.ListPendingOrdersInput{})
	if err != nil {
		log.Fatal(err)
	}
	for _, o := range pending.Orders {
		fmt.Println("pending:", o.ProjectName, o.ResourceName)
	}
	_, err = c.ApproveOrder(ctx, other)
	fmt.Println(strings.Replace(err.Error(), waldur.Hex(other), "<uuid>", 1))
	fmt.Println("transitions:", fake.Transitions(other))
	// Output:
	// pending: Climate climate-1
	// mcp: approve_order: order <uuid> not found
	// transitions: []
}

// An in-process client (or stdio, with RunStdio) is trusted with every tool.
// Tool errors come back as results with isError, for the model to read.
func ExampleServer_Run() {
	fake := waldurtest.New()
	defer fake.Close()
	offering := fake.AddOffering(waldurtest.OfferingSpec{})

	srv, err := mcp.NewServer(mcp.Config{Client: fake.Client(), Offerings: []waldur.UUID{offering}})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	clientSide, serverSide := sdk.NewInMemoryTransports()
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, serverSide) }()

	session, err := sdk.NewClient(&sdk.Implementation{Name: "example"}, nil).Connect(ctx, clientSide, nil)
	if err != nil {
		log.Fatal(err)
	}
	res, err := session.CallTool(ctx, &sdk.CallToolParams{
		Name:      mcp.ToolRejectOrder,
		Arguments: mcp.RejectOrderInput{UUID: "4f6c1e0e7b7d4d0c9b1e6f2a3c4d5e6f", Reason: "no capacity"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.IsError, res.Content[0].(*sdk.TextContent).Text)

	session.Close()
	cancel()
	fmt.Println(<-done)
	// Output:
	// true order 4f6c1e0e7b7d4d0c9b1e6f2a3c4d5e6f not found
	// <nil>
}
