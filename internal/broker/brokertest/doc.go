// Package brokertest runs the same integration suite and benchmarks against
// every broker transport, using a real RabbitMQ.
//
// Each test provisions its own random vhost, user and queue the way Waldur's
// register_queue does (package rabbitadmin), publishes the way Waldur's
// publisher does, and removes everything afterwards. Tests skip with a
// message naming the variable when the broker's environment variables
// (package testenv) are unset.
//
//	func TestSuite(t *testing.T) {
//		brokertest.RunSuite(t, brokertest.Transport{
//			Name:   "amqp",
//			Dialer: amqpsource.Dialer{},
//			URL:    brokertest.AMQPEndpointURL,
//		})
//	}
package brokertest
