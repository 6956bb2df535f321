package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/coder/websocket"
	"github.com/go-stomp/stomp/v3"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
)

// brokerTimeout bounds one login attempt.
const brokerTimeout = 10 * time.Second

// brokerCheck logs in to the broker the agent would use, with the login
// register_queue named and the agent's token, and leaves again.
func (d *diagnosis) brokerCheck(ctx context.Context) {
	ev := d.cfg.Events
	if ev.Mode == siteagent.EventsPolling {
		d.r.skip("broker: polling configured; no broker to check")
		return
	}
	if !d.broker {
		d.r.skip("broker: not checked without register_queue's queue")
		return
	}
	if d.cfg.Token == "" {
		d.r.warn("broker: no API token to log in with; the agent polls")
		return
	}
	var targets []struct{ kind, url string }
	if ev.AMQPURL != "" && ev.Mode != siteagent.EventsSTOMP {
		targets = append(targets, struct{ kind, url string }{"amqp", ev.AMQPURL})
	}
	if ev.Mode != siteagent.EventsAMQP {
		u := ev.STOMPURL
		if u == "" {
			u = derivedSTOMPURL(d.cfg.WaldurURL)
		}
		targets = append(targets, struct{ kind, url string }{"stomp", u})
	}
	for _, t := range targets {
		ctx, cancel := context.WithTimeout(ctx, brokerTimeout)
		var err error
		if t.kind == "amqp" {
			err = probeAMQP(t.url, d.queue.RmqUsername, d.cfg.Token, d.queue.Vhost, ev.TLS)
		} else {
			err = probeSTOMP(ctx, t.url, d.queue.RmqUsername, d.cfg.Token, d.queue.Vhost, ev.TLS)
		}
		cancel()
		if err != nil {
			d.r.fail("broker (%s): %s: %v", t.kind, redact(t.url), err)
			continue
		}
		d.r.ok("broker (%s): %s: logged in as %s to vhost %s", t.kind, redact(t.url), d.queue.RmqUsername, d.queue.Vhost)
	}
}

// derivedSTOMPURL is siteagent's default: web-STOMP on the API host.
func derivedSTOMPURL(waldurURL string) string {
	u, err := url.Parse(waldurURL)
	if err != nil {
		return ""
	}
	scheme := "wss"
	if u.Scheme == "http" {
		scheme = "ws"
	}
	return (&url.URL{Scheme: scheme, Host: u.Host, Path: siteagent.DefaultWebSTOMPPath}).String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func probeAMQP(raw, login, password, vhost string, tlsConf *tls.Config) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	u.User = nil
	conn, err := amqp.DialConfig(u.String(), amqp.Config{
		SASL:            []amqp.Authentication{&amqp.PlainAuth{Username: login, Password: password}},
		Vhost:           vhost,
		TLSClientConfig: tlsConf,
		Dial:            amqp.DefaultDial(brokerTimeout),
	})
	if err != nil {
		return err
	}
	return conn.Close()
}

func probeSTOMP(ctx context.Context, raw, login, password, vhost string, tlsConf *tls.Config) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	var nc net.Conn
	switch u.Scheme {
	case "ws", "wss":
		hc := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: tlsConf}}
		wc, _, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{HTTPClient: hc, Subprotocols: []string{"v12.stomp"}})
		if err != nil {
			return err
		}
		nc = websocket.NetConn(context.WithoutCancel(ctx), wc, websocket.MessageText)
	case "stomp", "stomp+ssl":
		dialer := &net.Dialer{Timeout: brokerTimeout}
		if u.Scheme == "stomp" {
			nc, err = dialer.DialContext(ctx, "tcp", u.Host)
		} else {
			nc, err = (&tls.Dialer{NetDialer: dialer, Config: tlsConf}).DialContext(ctx, "tcp", u.Host)
		}
		if err != nil {
			return err
		}
	default:
		return fmt.Errorf("scheme %q is not ws, wss, stomp or stomp+ssl", u.Scheme)
	}
	defer nc.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	conn, err := stomp.Connect(nc, stomp.ConnOpt.Host(vhost), stomp.ConnOpt.Login(login, password), stomp.ConnOpt.AcceptVersion(stomp.V12))
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	// The login is what was to be shown; web-STOMP may drop the socket
	// before go-stomp reads the DISCONNECT receipt, which is no failure.
	_ = conn.Disconnect()
	return nil
}
