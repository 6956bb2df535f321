package siteagent

import (
	"strings"
	"testing"
)

// FuzzDecodeWebhook feeds the webhook decoder arbitrary bodies and content
// types: it must never panic, and what it accepts must be usable.
func FuzzDecodeWebhook(f *testing.F) {
	f.Add("application/json", []byte(`{"created": "2026-11-25T10:00:00+00:00", "message": "m", "event_type": "marketplace_order_created", "context": {"order_uuid": "5d0f0a8c2a7e4b51a1f3c6d7e8f90a12", "order_limits": {"cpu": 1}}}`))
	f.Add("application/json; charset=utf-8", []byte(`{"event_type": "role_granted", "context": {"user_uuid": 7, "project_uuid": null}}`))
	f.Add("application/x-www-form-urlencoded", []byte(`created=2026-11-25T10%3A00%3A00%2B00%3A00&message=m&event_type=marketplace_order_created&context=order_uuid&context=order_created`))
	f.Add("application/x-www-form-urlencoded", []byte(`event_type=x&context%5Border_uuid%5D=5d0f0a8c-2a7e-4b51-a1f3-c6d7e8f90a12`))
	f.Add("", []byte(`{"event_type": "\u0000", "context": {"a_uuid": "\ud800"}}`))
	f.Add("text/plain", []byte(`event_type=%zz`))
	f.Add("application/json", []byte(`null`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		p, err := decodeWebhook(contentType, body)
		if err != nil {
			return
		}
		if p.eventType == "" || len(p.eventType) > maxEventType {
			t.Fatalf("accepted event_type %q", p.eventType)
		}
		for k := range p.ids {
			if !strings.HasSuffix(k, "_uuid") {
				t.Fatalf("kept context key %q", k)
			}
			_, _ = p.uuid(k)
		}
	})
}
