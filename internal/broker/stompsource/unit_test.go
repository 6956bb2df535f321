package stompsource

import (
	"bytes"
	"errors"
	"testing"

	"github.com/go-stomp/stomp/v3"
	"github.com/go-stomp/stomp/v3/frame"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/internal/broker"
)

func errorFrame(message, body string) stomp.Error {
	f := frame.New(frame.ERROR, frame.Message, message)
	f.Body = []byte(body)
	return stomp.Error{Message: message, Frame: f}
}

func TestClassify(t *testing.T) {
	// ERROR frames as RabbitMQ 3.10 sends them.
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"bad password", errorFrame("Bad CONNECT", "Access refused for user 'u'\n"), broker.ErrAuth},
		{"bad vhost", errorFrame("Bad CONNECT", "Virtual host 'v' access denied"), broker.ErrAuth},
		{"missing queue", errorFrame("not_found", "NOT_FOUND - no queue 'q' in vhost 'v'"), broker.ErrQueueNotFound},
		{"no read permission", errorFrame("access_refused", "ACCESS_REFUSED - access to queue 'q' in vhost 'v' refused for user 'u'"), broker.ErrAuth},
		{"pointer form", func() error { e := errorFrame("not_found", ""); return &e }(), broker.ErrQueueNotFound},
		{"cancelled subscription", errorFrame("Server cancelled subscription", ""), nil},
		{"connection closed", stomp.ErrClosedUnexpectedly, nil},
		{"plain error", errors.New("dial tcp: connection refused"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.err)
			if tt.want == nil {
				assert.False(t, broker.NeedsRefresh(got), "%v", got)
				return
			}
			assert.ErrorIs(t, got, tt.want)
		})
	}
}

func TestMessageConversion(t *testing.T) {
	h := frame.NewHeader(
		"subscription", "1",
		"destination", "/queue/consumer_x",
		"message-id", "T_1@@session@@7",
		"redelivered", "true",
		"ack", "T_1@@session@@7",
		"x-message-id", "first",
		"x-message-id", "second",
		"content-type", "application/json",
	)
	m := message(h, []byte(`{}`))
	assert.Equal(t, "first", m.MessageID, "the first of repeated headers wins")
	assert.Equal(t, "application/json", m.ContentType)
	assert.True(t, m.Redelivered)
	assert.Equal(t, "T_1@@session@@7", m.Headers["message-id"])
	assert.Equal(t, []byte(`{}`), m.Body)

	bare := message(nil, nil)
	assert.Empty(t, bare.MessageID)
	assert.False(t, bare.Redelivered)
}

// FuzzMessage feeds raw frames, as a broker could send them, through
// go-stomp's reader and the conversion to broker.Message.
func FuzzMessage(f *testing.F) {
	f.Add([]byte("MESSAGE\nsubscription:1\nx-message-id:abc\nredelivered:true\ncontent-length:2\n\n{}\x00"))
	f.Add([]byte("ERROR\nmessage:not_found\n\nNOT_FOUND - no queue 'q'\x00"))
	f.Add([]byte("MESSAGE\nx-message-id:a\\cb\n\n\x00"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		fr, err := frame.NewReader(bytes.NewReader(raw)).Read()
		if err != nil || fr == nil {
			return
		}
		m := message(fr.Header, fr.Body)
		require.Equal(t, fr.Header.Get("x-message-id"), m.MessageID)
		require.Equal(t, fr.Header.Get("redelivered") == "true", m.Redelivered)
		if fr.Command == frame.ERROR {
			_ = classify(stomp.Error{Message: fr.Header.Get(frame.Message), Frame: fr})
		}
	})
}

func FuzzClassifyText(f *testing.F) {
	f.Add("Bad CONNECT: Access refused for user 'u'")
	f.Add("not_found: NOT_FOUND - no queue 'q' in vhost 'v'")
	f.Fuzz(func(t *testing.T, text string) {
		err := classifyText(text)
		if err != nil {
			require.True(t, errors.Is(err, broker.ErrAuth) || errors.Is(err, broker.ErrQueueNotFound))
		}
	})
}
