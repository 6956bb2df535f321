// Package stompsource consumes a RabbitMQ queue over STOMP 1.2
// (github.com/go-stomp/stomp/v3) for package broker, either over WebSocket
// (github.com/coder/websocket) — the transport Waldur deployments expose — or
// over plain TCP.
//
// The endpoint URL picks the carrier; everything above it is one code path:
//
//	ws://host:15674/ws            RabbitMQ web-STOMP, no TLS
//	wss://waldur.example.org/rmqws-stomp   web-STOMP behind Waldur's ingress
//	stomp://host:61613            STOMP over TCP
//	stomp+ssl://host:61614        STOMP over TLS
//
// Over WebSocket the dialer negotiates the subprotocol v12.stomp and carries
// STOMP frames in text messages. The session CONNECTs with host = vhost,
// login, passcode and heart-beats of 10 s both ways (as Waldur's publisher),
// then SUBSCRIBEs to /amq/queue/<queue> — which attaches to the existing
// queue without declaring it, where /queue/<queue> would declare it and fail
// against Waldur's queue arguments — with ack:client-individual and a
// prefetch-count header equal to the consumer's concurrency.
//
//	c := stompsource.New(broker.Config{
//		Credentials: broker.StaticCredentials(broker.Endpoint{
//			URL: "wss://waldur.example.org/rmqws-stomp", VHost: vhost,
//			Login: login, Password: token, Queue: queue,
//		}),
//		Handler: handle,
//	})
//	err := c.Run(ctx)
//
// Dial returns only once the subscription stands: STOMP does not answer a
// SUBSCRIBE, so the dialer follows it with an empty transaction whose receipt
// proves the broker accepted it (RabbitMQ handles a connection's frames in
// order). This makes Connected on the consumer truthful, and turns a refused
// subscription into a dial error.
//
// Settlement: ACK after success; NACK (RabbitMQ requeues by default) for a
// retry; NACK with the header requeue:false for a rejection, which RabbitMQ
// honours by dead-lettering the message (checked against RabbitMQ 3.10).
// go-stomp cannot add headers to a NACK, so the rejecting frame is sent
// through Conn.Send with its command and headers replaced.
//
// Errors: RabbitMQ answers a refused login or vhost with an ERROR frame
// "Bad CONNECT" whose body says "Access refused for user …" or "Virtual host
// … access denied", and a missing queue with ERROR "not_found" ("NOT_FOUND -
// no queue …"). The former wrap broker.ErrAuth, the latter
// broker.ErrQueueNotFound. Over WebSocket, RabbitMQ 3.10 closes the socket
// ("STOMP died") without passing the ERROR frame on, so a connection that
// dies in answer to SUBSCRIBE is reported as broker.ErrQueueNotFound too
// (a missing or unreadable queue: either way fresh credentials are due). A
// deleted queue first shows as ERROR "Server cancelled subscription" (over
// TCP) or a closed socket, which ends the session; the next SUBSCRIBE then
// fails as above.
package stompsource
