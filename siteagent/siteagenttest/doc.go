// Package siteagenttest runs a site agent inside a test, against the fake
// Waldur of package waldurtest, so a processor can be tested end to end in a
// plain go test:
//
//	func TestVolumes(t *testing.T) {
//		s := waldurtest.NewServer(t)
//		offering := s.AddOffering(waldurtest.OfferingSpec{})
//		order := s.AddOrder(waldurtest.OrderSpec{Offering: offering})
//
//		cfg := siteagenttest.Config(s, offering)
//		cfg.Orders = myProcessor{}
//		siteagenttest.Start(t, cfg) // stopped when the test ends
//
//		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
//		defer cancel()
//		require.NoError(t, s.WaitFor(ctx, func() bool {
//			o, _ := s.Order(order)
//			return o.State == waldur.OrderStateDone
//		}))
//	}
package siteagenttest
