package stompsource

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/go-stomp/stomp/v3"
	"github.com/go-stomp/stomp/v3/frame"

	"github.com/gsv-platform/waldur-agent-go/internal/broker"
)

// readBuffer is go-stomp's read buffer; minFrameSize the smallest frame the
// broker sends ("ERROR\n\n\x00" plus a header or two).
const (
	readBuffer   = 4096
	minFrameSize = 8
)

// Defaults of a zero Dialer.
const (
	// DefaultHeartBeat is the heart-beat interval asked for in both
	// directions, as Waldur's own publisher does.
	DefaultHeartBeat = 10 * time.Second
	// Subprotocol is the WebSocket subprotocol for STOMP 1.2.
	Subprotocol = "v12.stomp"
)

// disconnectTimeout bounds the wait for the broker's DISCONNECT receipt.
const disconnectTimeout = 5 * time.Second

// Dialer opens STOMP consumer sessions. The zero value is ready to use.
type Dialer struct {
	// HeartBeat is the heart-beat interval in both directions. Zero means
	// DefaultHeartBeat.
	HeartBeat time.Duration
	// HTTPClient performs the WebSocket handshake. Nil means a client that
	// uses the endpoint's TLS config.
	HTTPClient *http.Client
	// Logger receives go-stomp's own diagnostics at debug level. Nil
	// discards them.
	Logger *slog.Logger
}

var _ broker.Dialer = Dialer{}

// New returns a broker.Consumer that consumes over STOMP with the zero Dialer.
func New(cfg broker.Config) *broker.Consumer { return broker.NewConsumer(Dialer{}, cfg) }

// Dial connects to ep, logs in and subscribes to /amq/queue/<ep.Queue>.
func (d Dialer) Dial(ctx context.Context, ep broker.Endpoint, prefetch int) (broker.Session, error) {
	u, err := url.Parse(ep.URL)
	if err != nil {
		return nil, fmt.Errorf("stompsource: parse URL: %w", err)
	}
	login, password := ep.Login, ep.Password
	if login == "" && u.User != nil {
		login = u.User.Username()
		password, _ = u.User.Password()
	}
	u.User = nil

	// A WebSocket net.Conn lives as long as the context it was made with,
	// so the session owns one, cancelled by Close.
	life, endLife := context.WithCancel(context.Background())
	nc, err := d.carrier(ctx, life, u, ep.TLS)
	if err != nil {
		endLife()
		return nil, fmt.Errorf("stompsource: connect %s: %w", u.Redacted(), err)
	}
	tracked := &trackedConn{Conn: nc, closed: make(chan struct{})}

	vhost := ep.VHost
	if vhost == "" {
		vhost = "/"
	}
	hb := d.HeartBeat
	if hb <= 0 {
		hb = DefaultHeartBeat
	}
	if prefetch <= 0 {
		prefetch = 1
	}
	// go-stomp sends on its frame channels while holding locks, and a full
	// channel at the moment a connection dies deadlocks it (its reader
	// goroutine then blocks forever). At most prefetch messages are
	// outstanding, hence at most prefetch acknowledgements; on top of those
	// the reader may still decode whatever its read buffer holds once the
	// connection is closed. Channels with room for all of it never fill.
	capacity := prefetch + 8 + readBuffer/minFrameSize
	// The STOMP handshake takes no context: a done ctx expires the socket.
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Now()) })
	conn, err := stomp.Connect(tracked,
		stomp.ConnOpt.ReadBufferSize(readBuffer),
		stomp.ConnOpt.ReadChannelCapacity(capacity),
		stomp.ConnOpt.WriteChannelCapacity(capacity),
		stomp.ConnOpt.Host(vhost),
		stomp.ConnOpt.Login(login, password),
		stomp.ConnOpt.AcceptVersion(stomp.V12),
		stomp.ConnOpt.HeartBeat(hb, hb),
		stomp.ConnOpt.DisconnectReceiptTimeout(disconnectTimeout),
		stomp.ConnOpt.Logger(slogLogger{l: d.Logger}),
	)
	if !stop() && err == nil {
		_ = conn.MustDisconnect()
		err = ctx.Err()
	}
	if err != nil {
		_ = tracked.Close()
		endLife()
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, fmt.Errorf("stompsource: log in to %s vhost %q: %w", u.Redacted(), vhost, classify(err))
	}

	sub, err := conn.Subscribe("/amq/queue/"+ep.Queue, stomp.AckClientIndividual,
		stomp.SubscribeOpt.Header("prefetch-count", strconv.Itoa(prefetch)))
	if err != nil {
		_ = conn.MustDisconnect()
		endLife()
		return nil, fmt.Errorf("stompsource: subscribe %q: %w", ep.Queue, classify(err))
	}
	s := &session{
		conn:     conn,
		sub:      sub,
		tracked:  tracked,
		endLife:  endLife,
		msgs:     make(chan *stomp.Message, prefetch+1),
		closing:  make(chan struct{}),
		done:     make(chan struct{}),
		pumpDone: make(chan struct{}),
	}
	go s.pump() // before confirming: messages may arrive ahead of the receipt
	if err := s.confirm(ctx); err != nil {
		s.teardown(false) // the connection is dead or dying: no DISCONNECT
		return nil, fmt.Errorf("stompsource: subscribe %q: %w", ep.Queue, err)
	}
	return s, nil
}

// confirm waits until the broker has accepted the SUBSCRIBE. STOMP has no
// reply to SUBSCRIBE, and go-stomp mishandles a receipt on it, so confirm
// sends an empty transaction (BEGIN with a receipt, then ABORT): RabbitMQ
// handles a connection's frames in order, so the receipt proves the
// subscription stands, and a refused subscription ends the connection first.
// Over TCP RabbitMQ explains the refusal in an ERROR frame; over WebSocket
// RabbitMQ 3.10 closes the socket without one ("STOMP died"), so a connection
// lost at this step is taken as a missing (or unreadable) queue: both call for
// fresh credentials.
func (s *session) confirm(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { _ = s.tracked.SetDeadline(time.Now()) })
	defer stop()
	tx := "confirm-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	err := s.conn.Send("", "", nil, func(f *frame.Frame) error {
		f.Command = frame.BEGIN
		f.Header = frame.NewHeader(frame.Transaction, tx, frame.Receipt, tx)
		f.Body = nil
		return nil
	})
	if err == nil {
		err = s.conn.Send("", "", nil, func(f *frame.Frame) error {
			f.Command = frame.ABORT
			f.Header = frame.NewHeader(frame.Transaction, tx)
			f.Body = nil
			return nil
		})
	}
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	if c := classify(err); broker.NeedsRefresh(c) {
		return c
	}
	return fmt.Errorf("%w: the broker closed the connection in answer to SUBSCRIBE: %v", broker.ErrQueueNotFound, err)
}

// carrier opens the byte stream STOMP runs on.
func (d Dialer) carrier(ctx, life context.Context, u *url.URL, tlsConf *tls.Config) (net.Conn, error) {
	switch u.Scheme {
	case "ws", "wss":
		hc := d.HTTPClient
		if hc == nil {
			hc = http.DefaultClient
			if tlsConf != nil {
				hc = &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: tlsConf.Clone()}}
			}
		}
		wc, _, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{
			HTTPClient:   hc,
			Subprotocols: []string{Subprotocol},
		})
		if err != nil {
			return nil, err
		}
		if wc.Subprotocol() != Subprotocol {
			_ = wc.CloseNow()
			return nil, fmt.Errorf("server did not accept WebSocket subprotocol %s", Subprotocol)
		}
		return websocket.NetConn(life, wc, websocket.MessageText), nil
	case "stomp", "stomp+ssl":
		var nd net.Dialer
		nc, err := nd.DialContext(ctx, "tcp", u.Host)
		if err != nil {
			return nil, err
		}
		if u.Scheme == "stomp" {
			return nc, nil
		}
		conf := &tls.Config{}
		if tlsConf != nil {
			conf = tlsConf.Clone()
		}
		if conf.ServerName == "" {
			conf.ServerName = u.Hostname()
		}
		tc := tls.Client(nc, conf)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, err
		}
		return tc, nil
	}
	return nil, fmt.Errorf("unsupported scheme %q (want ws, wss, stomp or stomp+ssl)", u.Scheme)
}

// trackedConn reports when go-stomp closes the connection, which it does on
// every way a connection ends (ERROR frame, read or heart-beat failure,
// DISCONNECT).
type trackedConn struct {
	net.Conn
	once   sync.Once
	closed chan struct{}
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

type session struct {
	conn    *stomp.Conn
	sub     *stomp.Subscription
	tracked *trackedConn
	endLife context.CancelFunc

	// The pump moves messages from the subscription into msgs without ever
	// blocking go-stomp: go-stomp reads frames, answers heart-beats and sends
	// acknowledgements on one goroutine, which stalls while a subscription's
	// messages go unread. msgs holds prefetch+1 and the broker sends at most
	// prefetch unacknowledged messages.
	msgs      chan *stomp.Message
	closing   chan struct{} // closed when teardown starts
	done      chan struct{} // closed when the session has ended
	reason    error         // why; set before done is closed
	pumpDone  chan struct{}
	closeOnce sync.Once
}

func (s *session) pump() {
	defer close(s.pumpDone)
	var reason error
	for m := range s.sub.C {
		if m.Err != nil {
			reason = classify(m.Err)
			break
		}
		// Once teardown starts nobody takes messages any more; dropping them
		// (the broker requeues them) keeps go-stomp's processLoop reading. A
		// processLoop stuck on a full subscription channel lets its read
		// channel fill, and when it then exits its readLoop blocks forever.
		select {
		case s.msgs <- m:
		case <-s.closing:
		case <-s.tracked.closed:
		}
	}
	if reason == nil {
		reason = errors.New("stompsource: connection closed")
	}
	s.reason = fmt.Errorf("stompsource: session ended: %w", reason)
	close(s.done)
	// Keep draining until go-stomp closes the channel, so that it never
	// blocks on it.
	for range s.sub.C {
	}
}

func (s *session) Next(ctx context.Context) (broker.Delivery, error) {
	select {
	case m := <-s.msgs:
		return &delivery{conn: s.conn, m: m}, nil
	case <-s.done:
		return nil, s.reason
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *session) Done() <-chan struct{} { return s.done }

// StopConsuming does nothing: RabbitMQ forgets a subscription's outstanding
// deliveries on UNSUBSCRIBE, so acknowledging them afterwards would fail.
// Messages that still arrive are left unacknowledged and return to the queue
// when the session closes.
func (s *session) StopConsuming(context.Context) error { return nil }

// Close disconnects and waits for the session's goroutines. A live session
// says DISCONNECT and waits briefly for the receipt, by which time the broker
// has processed every acknowledgement sent before; an ended one is just torn
// down. Close reports no error: RabbitMQ's web-STOMP closes the socket
// without delivering the receipt, and either way unacknowledged messages
// return to the queue.
func (s *session) Close() error {
	s.teardown(true)
	return nil
}

func (s *session) teardown(graceful bool) {
	s.closeOnce.Do(func() {
		close(s.closing)
		select {
		case <-s.done:
		default:
			if graceful {
				_ = s.conn.Disconnect()
			}
		}
		_ = s.conn.MustDisconnect()
		_ = s.tracked.Close()
		<-s.pumpDone
		s.endLife()
	})
}

type delivery struct {
	conn *stomp.Conn
	m    *stomp.Message
}

func (d *delivery) Message() broker.Message { return message(d.m.Header, d.m.Body) }
func (d *delivery) Ack() error              { return d.conn.Ack(d.m) }

// Requeue sends NACK, which RabbitMQ answers by requeueing.
func (d *delivery) Requeue() error { return d.conn.Nack(d.m) }

// Reject sends NACK with requeue:false, which RabbitMQ answers by
// dead-lettering. go-stomp's Nack takes no extra headers, so the frame goes
// out through Send with its command and headers replaced; Send puts it on the
// same ordered write path as Ack and Nack.
func (d *delivery) Reject() error {
	ackID := d.m.Header.Get(frame.Ack)
	if ackID == "" {
		return errors.New("stompsource: message has no ack header")
	}
	return d.conn.Send("", "", nil, func(f *frame.Frame) error {
		f.Command = frame.NACK
		f.Header = frame.NewHeader(frame.Id, ackID, "requeue", "false")
		f.Body = nil
		return nil
	})
}

// message converts a MESSAGE frame. When a header repeats, the first value
// wins, as STOMP 1.2 specifies.
func message(h *frame.Header, body []byte) broker.Message {
	n := 0
	if h != nil {
		n = h.Len()
	}
	headers := make(map[string]string, n)
	for i := range n {
		k, v := h.GetAt(i)
		if _, seen := headers[k]; !seen {
			headers[k] = v
		}
	}
	return broker.Message{
		Body:        body,
		MessageID:   headers[broker.HeaderMessageID],
		ContentType: headers[frame.ContentType],
		Headers:     headers,
		Redelivered: headers["redelivered"] == "true",
	}
}

// classify maps RabbitMQ's ERROR frames to the broker sentinels.
func classify(err error) error {
	var text string
	var se stomp.Error
	var sp *stomp.Error
	switch {
	case errors.As(err, &se):
		text = errorText(se)
	case errors.As(err, &sp):
		text = errorText(*sp)
	default:
		return err
	}
	if kind := classifyText(text); kind != nil {
		return fmt.Errorf("%w: %s", kind, text)
	}
	return fmt.Errorf("%s: %w", text, err)
}

func errorText(e stomp.Error) string {
	text := e.Message
	if e.Frame != nil && len(e.Frame.Body) > 0 {
		text += ": " + strings.TrimSpace(string(e.Frame.Body))
	}
	return text
}

// classifyText recognises RabbitMQ's wording of refused credentials and
// missing queues in an ERROR frame's message and body.
func classifyText(text string) error {
	t := strings.ToLower(text)
	switch {
	case strings.Contains(t, "not_found") || strings.Contains(t, "no queue"):
		return broker.ErrQueueNotFound
	case strings.Contains(t, "access refused") || strings.Contains(t, "access_refused") ||
		strings.Contains(t, "access denied") || strings.Contains(t, "not_allowed") ||
		strings.Contains(t, "authentication") || strings.Contains(t, "login"):
		return broker.ErrAuth
	}
	return nil
}

// slogLogger passes go-stomp's diagnostics to slog at debug level; the
// consumer logs what matters (session ends, reasons) itself.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) log(msg string) {
	if s.l != nil {
		s.l.Debug("stomp: " + msg)
	}
}
func (s slogLogger) Debugf(f string, v ...any)   { s.log(fmt.Sprintf(f, v...)) }
func (s slogLogger) Infof(f string, v ...any)    { s.log(fmt.Sprintf(f, v...)) }
func (s slogLogger) Warningf(f string, v ...any) { s.log(fmt.Sprintf(f, v...)) }
func (s slogLogger) Errorf(f string, v ...any)   { s.log(fmt.Sprintf(f, v...)) }
func (s slogLogger) Debug(m string)              { s.log(m) }
func (s slogLogger) Info(m string)               { s.log(m) }
func (s slogLogger) Warning(m string)            { s.log(m) }
func (s slogLogger) Error(m string)              { s.log(m) }
