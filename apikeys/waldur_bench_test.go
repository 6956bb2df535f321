package apikeys_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// BenchmarkProvisionerCreate is the Provisioner's share of a Create order:
// reading the resource's keys in Waldur (the fake, over loopback HTTP), and
// issuing two keys into a fresh memory store (whose List scans every record,
// so a shared one would grow into the measurement).
func BenchmarkProvisionerCreate(b *testing.B) {
	s := waldurtest.NewServer(b)
	client := s.Client()
	offering := s.AddOffering(waldurtest.OfferingSpec{})
	gateway := siteagent.OrderProcessorFunc(func(context.Context, *siteagent.Order) (siteagent.Result, error) {
		return siteagent.Result{BackendID: "gw"}, nil
	})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		m, err := apikeys.New(apikeys.Config{Store: apikeys.NewMemoryStore(), CacheSize: -1, NegativeCacheSize: -1})
		if err != nil {
			b.Fatal(err)
		}
		p, err := apikeys.NewProvisioner(apikeys.ProvisionerConfig{Keys: m, Client: client, Scopes: []string{"chat:write"}, Next: gateway})
		if err != nil {
			b.Fatal(err)
		}
		o := &siteagent.Order{Type: waldur.OrderTypeCreate, OfferingUUID: offering, ResourceUUID: uuid.New()}
		res, err := p.ProcessOrder(ctx, o)
		if err != nil || len(res.APIKeys) != 2 {
			b.Fatal(err, len(res.APIKeys))
		}
	}
}

// BenchmarkWaldurUsageReport is one answer to the agent's usage pass for a
// seeded month, among 1000 metered resources.
func BenchmarkWaldurUsageReport(b *testing.B) {
	f := newFixture(b, nil)
	s := waldurtest.NewServer(b)
	offering := s.AddOffering(waldurtest.OfferingSpec{})
	usage, err := apikeys.NewWaldurUsage(apikeys.WaldurUsageConfig{Client: s.Client(), Components: tokens})
	require.NoError(b, err)
	meter, err := apikeys.NewMeter(apikeys.MeterConfig{Sink: usage.Sink(), Now: f.clock.Now})
	require.NoError(b, err)
	var rs []waldur.Resource
	for i := range 1000 {
		id := apikeys.Identity{KeyID: uuid.NewString(), Binding: apikeys.Binding{OfferingUUID: offering, ResourceUUID: uuid.New()}}
		meter.Add(id, "requests", int64(i+1))
		meter.Add(id, "tokens", int64(1000*i))
		rs = append(rs, waldur.Resource{UUID: id.ResourceUUID, OfferingUUID: offering})
	}
	ctx := context.Background()
	require.NoError(b, meter.Flush(ctx))
	p := period(f.clock.Now())
	_, err = usage.ReportUsage(ctx, &rs[0], p) // seeds the month
	require.NoError(b, err)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := usage.ReportUsage(ctx, &rs[i%len(rs)], p); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
