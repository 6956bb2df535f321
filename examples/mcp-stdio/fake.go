package main

import (
	"time"

	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// startFake starts an embedded fake Waldur with a GPU cluster offering and
// the kind of work a provider meets on a Monday morning.
func startFake() (*waldurtest.Server, waldur.UUID) {
	fake := waldurtest.New()
	offering := fake.AddOffering(waldurtest.OfferingSpec{
		Name: "GPU cluster",
		Components: []waldurtest.ComponentSpec{
			{Type: "gpu_hours", Name: "GPU hours", MeasuredUnit: "hours", BillingType: "usage"},
			{Type: "storage", Name: "Storage", MeasuredUnit: "GB", BillingType: "limit"},
		},
	})
	climate := fake.AddProject(waldurtest.ProjectSpec{Name: "Climate modelling"})
	genomics := fake.AddProject(waldurtest.ProjectSpec{Name: "Genomics"})

	training := fake.AddResource(waldurtest.ResourceSpec{
		Offering: offering, Project: climate, Name: "training-runs", BackendID: "acct_climate_1",
		Limits: map[string]int64{"gpu_hours": 2000, "storage": 500},
	})
	archive := fake.AddResource(waldurtest.ResourceSpec{
		Offering: offering, Project: genomics, Name: "old-pipeline", BackendID: "acct_genomics_7",
		Limits: map[string]int64{"gpu_hours": 100, "storage": 50},
	})
	now := time.Now()
	fake.AddComponentUsage(waldurtest.UsageSpec{Resource: training, Type: "gpu_hours", Amount: "1412.50", Date: now})
	fake.AddAPIKey(waldurtest.APIKeySpec{Resource: training, ClientID: "acct_climate_1-1"})

	alice := fake.AddUser(waldurtest.UserSpec{Username: "alice", FullName: "Alice Meyer"})
	bob := fake.AddUser(waldurtest.UserSpec{Username: "bob", FullName: "Bob Ortiz"})
	fake.AddProjectMember(climate, alice, "")
	fake.AddProjectMember(genomics, bob, "")
	fake.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: offering, User: alice, Username: "ameyer"})
	fake.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: offering, User: bob})

	fake.AddOrder(waldurtest.OrderSpec{
		Offering: offering, Project: genomics,
		Attributes: map[string]any{"name": "variant-calling", "description": "GPU variant calling for the 2026 cohort"},
		Limits:     map[string]int64{"gpu_hours": 300, "storage": 200}, RequestComment: "Needed before the April deadline",
	})
	fake.AddOrder(waldurtest.OrderSpec{
		Offering: offering, Project: climate,
		Attributes: map[string]any{"name": "everything", "description": "as much as possible"},
		Limits:     map[string]int64{"gpu_hours": 1_000_000, "storage": 900_000},
	})
	fake.AddOrder(waldurtest.OrderSpec{Offering: offering, Project: climate, Type: "Update", Resource: training,
		Limits: map[string]int64{"gpu_hours": 3000, "storage": 500}})
	fake.AddOrder(waldurtest.OrderSpec{Offering: offering, Project: genomics, Type: "Terminate", Resource: archive})
	return fake, offering
}
