// Package rabbitadmin sets up and inspects RabbitMQ the way Waldur does, for
// the fake Waldur and for integration tests.
//
// [Client] speaks the RabbitMQ management HTTP API: virtual hosts, users,
// permissions, queues (with Waldur's exact queue arguments), a look into a
// queue's messages, and listing and force-closing client connections.
// [Client.Provision] performs what Waldur's register_queue does on the broker.
// [STOMPPublisher] and [AMQPPublisher] publish events as Waldur's publisher
// does, with the x-message-id header of [MessageID].
//
//	admin, err := rabbitadmin.New("http://guest:guest@127.0.0.1:15672")
//	if err != nil { ... }
//	reg, err := admin.Provision(ctx, rabbitadmin.ProvisionRequest{Password: token})
//	if err != nil { ... }
//	pub, err := rabbitadmin.DialSTOMP(ctx, rabbitadmin.STOMPPublisherConfig{
//		Addr: "127.0.0.1:61613", VHost: reg.VHost, Login: "guest", Password: "guest",
//	})
//	if err != nil { ... }
//	id, err := pub.Publish(ctx, reg.Queue, []byte(`{"object_type":"order"}`))
//	...
//	err = pub.Close() // confirms everything sent
//
// Waldur's queue arguments (see [WaldurQueueArguments]): durable, messages
// live one hour (x-message-ttl 3600000), at most 10 000 messages
// (x-max-length) after which new ones are rejected (x-overflow
// reject-publish-dlx), dead letters go through the default exchange to
// [DeadLetterQueue].
package rabbitadmin
