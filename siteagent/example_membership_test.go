package siteagent_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// runAgent runs an agent with cfg against the fake Waldur until done reports
// true (or a minute passes), then stops it.
func runAgent(s *waldurtest.Server, cfg siteagent.Config, done func() bool) {
	cfg.WaldurURL, cfg.Token = s.URL(), s.Token()
	cfg.Events = siteagent.EventsConfig{Mode: siteagent.EventsPolling}
	a, err := siteagent.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- a.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	if err := s.WaitFor(wctx, done); err != nil {
		fmt.Println("gave up waiting:", err)
	}
	wcancel()
	cancel()
	if err := <-stopped; err != nil {
		fmt.Println(err)
	}
}

// A backend keeps one access group per allocation. The agent gives the
// project members who have an offering username access, and takes it away
// from everyone else, except service accounts, which follow their own events.
func ExampleMembership() {
	s := waldurtest.New()
	defer s.Close()
	offering := s.AddOffering(waldurtest.OfferingSpec{Name: "HPC"})
	project := s.AddProject(waldurtest.ProjectSpec{Name: "Climate modelling"})
	s.AddResource(waldurtest.ResourceSpec{Offering: offering, Project: project, BackendID: "alloc_42"})
	for _, name := range []string{"alice", "bob"} {
		u := s.AddUser(waldurtest.UserSpec{Username: name})
		s.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: offering, User: u, Username: name + "01"})
		s.AddProjectMember(project, u, "PROJECT.MEMBER")
	}

	// The backend: access groups by allocation, as an LDAP server might keep them.
	var mu sync.Mutex
	groups := map[string]map[string]siteagent.MemberKind{
		"alloc_42": {"bob01": siteagent.MemberUser, "eve01": siteagent.MemberUser, "ci-bot": siteagent.MemberServiceAccount},
	}
	membership := siteagent.Membership{
		List: siteagent.MemberListerFunc(func(_ context.Context, r *waldur.Resource) ([]siteagent.Member, error) {
			mu.Lock()
			defer mu.Unlock()
			var ms []siteagent.Member
			for name, kind := range groups[r.BackendID] {
				ms = append(ms, siteagent.Member{Username: name, Kind: kind})
			}
			return ms, nil
		}),
		Add: siteagent.MemberAdderFunc(func(_ context.Context, r *waldur.Resource, ms []siteagent.Member) error {
			mu.Lock()
			defer mu.Unlock()
			for _, m := range ms {
				groups[r.BackendID][m.Username] = m.Kind
			}
			return nil
		}),
		Remove: siteagent.MemberRemoverFunc(func(_ context.Context, r *waldur.Resource, ms []siteagent.Member) error {
			mu.Lock()
			defer mu.Unlock()
			for _, m := range ms {
				delete(groups[r.BackendID], m.Username)
			}
			return nil
		}),
		Info: siteagent.ProcessorInfo{Name: "GroupSync", BackendType: "ldap"},
	}

	members := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Sorted(maps.Keys(groups["alloc_42"]))
	}
	runAgent(s, siteagent.Config{OfferingUUID: offering.String(), Membership: membership}, func() bool {
		return slices.Equal(members(), []string{"alice01", "bob01", "ci-bot"})
	})
	fmt.Println(members())
	// Output:
	// [alice01 bob01 ci-bot]
}
