package siteagent_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// The offering lets the service provider choose usernames. The processor
// creates a site account for each new offering user, unless the user still
// has to link an existing account; the agent records the outcome in Waldur.
func ExampleOfferingUserProcessorFunc() {
	s := waldurtest.New()
	defer s.Close()
	offering := s.AddOffering(waldurtest.OfferingSpec{PluginOptions: map[string]any{
		"service_provider_can_create_offering_user": true,
		"username_generation_policy":                "service_provider",
	}})
	jane := s.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: offering,
		User: s.AddUser(waldurtest.UserSpec{Username: "jane.doe@uni.example"})})
	partner := s.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: offering,
		User: s.AddUser(waldurtest.UserSpec{Username: "max@partner.example"})})

	accounts := siteagent.OfferingUserProcessorFunc(func(ctx context.Context, u *waldur.OfferingUser) (siteagent.Account, error) {
		local, domain, _ := strings.Cut(u.UserUsername, "@")
		if domain != "uni.example" {
			return siteagent.AccountPendingLinking("Link your home institution account first",
				"https://idp.uni.example/link"), nil
		}
		username := strings.ReplaceAll(local, ".", "_")
		// ... create the account on the backend (idempotently) ...
		return siteagent.AccountReady(username), nil
	})

	state := func(id waldur.UUID) waldur.OfferingUser { u, _ := s.OfferingUser(id); return u }
	runAgent(s, siteagent.Config{OfferingUUID: offering.String(), OfferingUsers: accounts}, func() bool {
		return state(jane).State == waldur.OfferingUserStateOK &&
			state(partner).State == waldur.OfferingUserStatePendingAccountLinking
	})
	fmt.Println(state(jane).State, *state(jane).Username)
	fmt.Println(state(partner).State, "-", state(partner).ServiceProviderCommentURL)
	// Output:
	// OK jane_doe
	// Pending account linking - https://idp.uni.example/link
}
