package agentconfig_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/gsv-platform/waldur-agent-go/siteagent/agentconfig"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// Publishing the file's backend_components to the offering, as the
// reference agent's load-components does; here to a fake Waldur.
func ExampleOffering_ComponentRequests() {
	fake := waldurtest.New()
	defer fake.Close()
	offering := fake.AddOffering(waldurtest.OfferingSpec{})
	file := fmt.Sprintf(`
offerings:
  - waldur_api_url: %s
    waldur_api_token: %s
    waldur_offering_uuid: %s
    backend_type: slurm
    backend_components:
      cpu: {measured_unit: CPU-hours, unit_factor: 60, accounting_type: one, label: CPU, limit: 100,
            min_prepaid_duration: 1, max_prepaid_duration: 12}
`, fake.URL(), fake.Token(), offering)
	f, err := agentconfig.LoadSiteAgentYAML(strings.NewReader(file))
	if err != nil {
		log.Fatal(err)
	}
	o := f.Offerings[0]
	pushed, err := fake.Client().Offerings.PushComponents(context.Background(), offering, o.ComponentRequests())
	if err != nil {
		log.Fatal(err)
	}
	got, _ := fake.Offering(offering)
	c := got.Components[0]
	fmt.Println(pushed[0].Type, "created:", pushed[0].Created)
	fmt.Println(c.Name, c.BillingType, "prepaid:", c.IsPrepaid, "limit:", *c.LimitAmount)
	// Output:
	// cpu created: true
	// CPU one prepaid: true limit: 100
}
