package widget_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
	"github.com/gsv-platform/waldur-agent-go/widget"
)

// The agent serves the widget under /widget/; a project's read-only key reads
// the status the <waldur-agent-widget> element shows.
func Example() {
	ctx := context.Background()
	fake := waldurtest.New() // Waldur, for the example
	defer fake.Close()
	offering := fake.AddOffering(waldurtest.OfferingSpec{Name: "AI agent", Components: []waldurtest.ComponentSpec{
		{Type: "requests", Name: "Requests", MeasuredUnit: "requests"},
	}})
	project := fake.AddProject(waldurtest.ProjectSpec{Name: "Climate modelling"})
	resource := fake.AddResource(waldurtest.ResourceSpec{Offering: offering, Project: project, Name: "climate-assistant",
		Limits: map[string]int64{"requests": 1000}})
	fake.AddComponentUsage(waldurtest.UsageSpec{Resource: resource, Type: "requests", Amount: "42"})
	fake.AddAPIKey(waldurtest.APIKeySpec{Resource: resource, ClientID: "agent-1-1"})

	keys, err := apikeys.New(apikeys.Config{Store: apikeys.NewMemoryStore()})
	if err != nil {
		log.Fatal(err)
	}
	h, err := widget.New(widget.Config{Keys: keys, Client: fake.Client(), AllowedOrigins: []string{"https://portal.example.com"}})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/widget/", http.StripPrefix("/widget", h))
	agent := httptest.NewServer(mux)
	defer agent.Close()

	// The vendor gives the customer a key for the widget on their page.
	issued, err := keys.Issue(ctx, apikeys.IssueOptions{
		Name: "status widget", Binding: apikeys.Binding{ProjectUUID: project},
		Scopes: []string{widget.ScopeRead}, TTL: 365 * 24 * time.Hour,
	})
	if err != nil {
		log.Fatal(err)
	}

	// What the element does: GET status with the key in the header.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, agent.URL+"/widget/status", nil)
	req.Header.Set("Authorization", "Bearer "+issued.Key.Format())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var st widget.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.Project.Name)
	for _, r := range st.Resources {
		fmt.Println(r.Name, r.State)
		for _, u := range r.Usage {
			fmt.Printf("  %s: %g of %g %s\n", u.Name, u.Usage, *u.Limit, u.Unit)
		}
		for _, k := range r.Keys {
			fmt.Printf("  key %s: %s\n", k.ClientID, k.State)
		}
	}
	// Output:
	// Climate modelling
	// climate-assistant OK
	//   Requests: 42 of 1000 requests
	//   key agent-1-1: OK
}
